// A checkbox with data-select-all="<group>" ticks or clears every checkbox with data-group="<group>".
// Delegated from the document, so it works for lists htmx loads later.
document.addEventListener("change", (event) => {
  const group = event.target.dataset.selectAll;
  if (!group) return;
  for (const box of document.querySelectorAll(`input[type=checkbox][data-group="${group}"]`)) {
    box.checked = event.target.checked;
  }
});
