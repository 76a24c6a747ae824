// "Save and sign" asks for confirmation first, in the page's own dialog that says what signing
// means (a file, not an inline script, so a strict Content-Security-Policy holds).
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var dialog = document.getElementById("sign-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return;
    var confirmed = false;
    var pressed = null;
    document.querySelectorAll("form button[name=sign]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (confirmed) return; // the confirmed click goes through with the button's name and value
        event.preventDefault();
        pressed = button;
        dialog.showModal();
        document.getElementById("sign-confirm").focus();
      });
    });
    document.getElementById("sign-confirm").addEventListener("click", function () {
      confirmed = true;
      dialog.close();
      pressed.click();
    });
    document.getElementById("sign-cancel").addEventListener("click", function () {
      dialog.close();
    });
  });
})();
