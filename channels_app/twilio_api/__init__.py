"""Plumbing shared by the adapters that speak Twilio (sms, voice): not a channel of its own."""
