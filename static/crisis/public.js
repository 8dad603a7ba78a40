/* The public crisis page: a click on a directory line is a contact served without an agent. */
document.addEventListener("click", function (ev) {
  var link = ev.target.closest ? ev.target.closest(".directory a") : null;
  if (link && navigator.sendBeacon) navigator.sendBeacon("/embed/deflection/", "directory_link");
});
