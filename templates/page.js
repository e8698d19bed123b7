// The reports' one script: click a header of a table.sortable to sort its rows by that column.
// A cell's data-sort attribute, when present, is the value sorted on (numbers sort as numbers).
// Printing opens every folded section, so the paper copy holds everything the screen can show.
"use strict";
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
});
var NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$/i;
// Text with numbers in it sorts as a person reads it: submission_2 before submission_10.
var TEXT = new Intl.Collator(undefined, { numeric: true });
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead ? table.tHead.rows[0].cells : [];
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0;
    th.addEventListener("click", function () { sortBy(table, th, col); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th, col); });
  });
});
function cellKey(row, col) {
  var cell = row.cells[col];
  var raw = cell ? (cell.getAttribute("data-sort") || cell.textContent.trim()) : "";
  return NUMBER.test(raw) ? { n: true, v: parseFloat(raw) } : { n: false, v: raw.toLowerCase() };
}
function sortBy(table, th, col) {
  var desc = th.getAttribute("aria-sort") === "ascending";
  Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
  th.setAttribute("aria-sort", desc ? "descending" : "ascending");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = cellKey(a, col), y = cellKey(b, col), c;
    if (x.n && y.n) c = x.v - y.v;
    else if (x.n !== y.n) c = x.n ? -1 : 1;
    else c = TEXT.compare(x.v, y.v);
    return desc ? -c : c;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
