from django.contrib import admin

from helpdesk.feedback.models import Coupon, CouponPool, IncentiveEvent

admin.site.register(CouponPool)
admin.site.register(Coupon, list_display=("code", "pool", "state", "customer", "granted_at", "redeemed_at"))
admin.site.register(IncentiveEvent, list_display=("coupon_id", "action", "at"))
