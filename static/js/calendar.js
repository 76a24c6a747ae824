// The calendar's small behaviours (the Content-Security-Policy allows no inline script and no hx-on).
// Everything here only makes a page nicer: without it the forms and links work as they are.

// The room field belongs to appointments at the centre: hidden while the place is another.
function calendarRoomField(root) {
  var forms = (root || document).querySelectorAll("[data-appointment-form]");
  forms.forEach(function (form) {
    var place = form.querySelector("select[name$='place']");
    var room = form.querySelector("[data-room-field]");
    if (!place || !room) return;
    var update = function () { room.classList.toggle("room-hidden", place.value !== "room"); };
    place.addEventListener("change", update);
    update();
  });
}

document.addEventListener("DOMContentLoaded", function () { calendarRoomField(document); });
document.addEventListener("htmx:afterSwap", function (event) { calendarRoomField(event.detail.target); });

// A panel's "Close" empties the panel instead of reloading the week.
document.addEventListener("click", function (event) {
  var close = event.target.closest && event.target.closest("[data-clear-panel]");
  if (!close) return;
  var panel = document.getElementById("slot-panel");
  if (!panel) return;
  event.preventDefault();
  panel.innerHTML = "";
});
