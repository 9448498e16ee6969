// indu view: what the run page (view.js) and the sweep page (sweep.js) share, put before
// either page's code: the chart tooltip (#chart-tip) and round axis ticks. One global, INDU.
var INDU = (function () {
  'use strict';
  function showTip(text, x, y) {
    var tip = document.getElementById('chart-tip');
    tip.textContent = text; tip.hidden = false;
    tip.style.left = Math.min(x + 14, window.innerWidth - tip.offsetWidth - 6) + 'px';
    tip.style.top = Math.max(6, y - tip.offsetHeight - 10) + 'px';
  }
  function hideTip() { document.getElementById('chart-tip').hidden = true; }
  // About n ticks between lo and hi at steps of 1, 2 or 5 times a power of ten.
  function niceTicks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / n))), err = span / n / step;
    if (err >= 7) step *= 10; else if (err >= 3) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  return { showTip: showTip, hideTip: hideTip, niceTicks: niceTicks };
})();
