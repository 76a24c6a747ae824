// Print buttons without inline script.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
