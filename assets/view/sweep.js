// indu view --sweep: the sweep page's behaviour. Reads the JSON block #indu-data
// (src/experiments/view/sweep.rs SweepViewData: the SweepReport of src/sweep/report.rs, the
// figures' palette, one link per row), draws the summary, one SVG chart per plotted axis and
// metric (a dot per run, fanned out where runs share a value, and a median line per group,
// in the PNGs' colours) and the table of runs, sortable by any column (click or Enter on
// its header). No libraries, no network.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('indu-data').textContent);
  var R = D.report, PAL = D.palette, ROWS = R.rows;

  // ---- small helpers ------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function missing(v) { return v === null || v === undefined || (typeof v === 'number' && isNaN(v)); }
  function fmt(v) {
    if (missing(v)) return '–';
    if (typeof v !== 'number') return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return String(+v.toPrecision(4));
  }
  function colour(i) { return PAL[i % PAL.length]; }
  var showTip = INDU.showTip, hideTip = INDU.hideTip, niceTicks = INDU.niceTicks;

  // ---- summary --------------------------------------------------------------------------
  function summary() {
    $('title').textContent = R.sweep + '  (' + R.task + ')';
    var counts = {};
    ROWS.forEach(function (r) { counts[r.state] = (counts[r.state] || 0) + 1; });
    var box = el('div', { cls: 'stats' });
    function stat(label, value) { box.appendChild(el('div', { cls: 'stat' }, [el('b', { text: value }), el('span', { text: label })])); }
    stat('task', R.task);
    stat('runs', String(ROWS.length));
    Object.keys(counts).forEach(function (s) { stat(s, String(counts[s])); });
    stat('axes', R.axes.map(function (a) { return a.key + ' (' + a.values.length + ')'; }).join(', '));
    if (R.target) stat('target', R.target.metric + ' ≥ ' + R.target.at_least);
    var f = R.formation;
    stat('induction head formed', f.steps.length + ' of ' + (f.steps.length + f.never));
    $('summary').appendChild(box);
    var tracked = R.settings.filter(function (s) { return s.tracked > 0; });
    if (tracked.length) {
      var ul = el('ul', { cls: 'notes' });
      tracked.forEach(function (s, i) {
        ul.appendChild(el('li', { text: s.name + ': ' + s.formed + ' of ' + s.tracked + ' seeds formed an induction head' }));
      });
      $('summary').appendChild(ul);
    }
  }

  // ---- plots: one per plotted axis and metric --------------------------------------------
  // Dots at the same x fan out sideways, at most 7 px apart (src/plot/chart.rs `spread`).
  function spread(xs) {
    return xs.map(function (x, i) {
      var same = [];
      xs.forEach(function (y, j) { if (y === x) same.push(j); });
      var n = same.length, k = same.indexOf(i), step = Math.min(7, 36 / n);
      return Math.round((k - (n - 1) / 2) * step);
    });
  }
  function axisChart(box, plot, metric) {
    var axis = R.axes[plot.axis], W = 520, Hh = 300, m = { l: 58, r: 16, t: 16, b: 46 };
    var pw = W - m.l - m.r, ph = Hh - m.t - m.b;
    var pts = [];
    plot.groups.forEach(function (g, gi) {
      g.rows.forEach(function (ri) {
        var row = ROWS[ri], y = row.final_eval[metric];
        if (!missing(y)) pts.push({ g: gi, row: ri, x: axisX(axis, row.value_index[plot.axis]), y: y });
      });
    });
    if (!pts.length) { box.appendChild(el('p', { cls: 'muted small', text: 'no run reported eval ' + metric })); return; }
    var log = axis.scale === 'log', cat = axis.scale === 'categorical';
    var f = log ? Math.log10 : function (v) { return v; };
    var xv = axis.values.map(function (_, i) { return axisX(axis, i); });
    var x0 = Math.min.apply(null, xv), x1 = Math.max.apply(null, xv);
    if (cat) { x0 = -0.5; x1 = axis.values.length - 0.5; }
    var pad = (f(x1) - f(x0)) * 0.08 || 0.5;
    var fx0 = f(x0) - (cat ? 0 : pad), fx1 = f(x1) + (cat ? 0 : pad);
    var ys = pts.map(function (p) { return p.y; });
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys), yp = (y1 - y0) * 0.06 || Math.abs(y0) * 0.1 || 1;
    y0 -= yp; y1 += yp;
    function X(v) { return m.l + (f(v) - fx0) / (fx1 - fx0) * pw; }
    function Y(v) { return m.t + ph - (v - y0) / (y1 - y0) * ph; }
    var s = ['<svg viewBox="0 0 ' + W + ' ' + Hh + '" role="img" aria-label="final eval ' + esc(metric) + ' against ' + esc(axis.key) + '">'];
    var yt = niceTicks(y0, y1, 5);
    s.push('<g class="grid">');
    yt.forEach(function (v) { s.push('<line x1="' + m.l + '" x2="' + (W - m.r) + '" y1="' + Y(v) + '" y2="' + Y(v) + '"/>'); });
    s.push('</g><g class="axis"><path d="M' + m.l + ' ' + m.t + 'V' + (m.t + ph) + 'H' + (W - m.r) + '" fill="none"/>');
    yt.forEach(function (v) { s.push('<text x="' + (m.l - 5) + '" y="' + (Y(v) + 3.5) + '" text-anchor="end">' + esc(fmt(v)) + '</text>'); });
    var many = axis.values.length > 12 && !cat;
    var xt = many ? niceTicks(x0, x1, 6).map(function (v) { return [v, fmt(v)]; })
      : axis.values.map(function (label, i) { return [xv[i], label]; });
    xt.forEach(function (t) {
      s.push('<line x1="' + X(t[0]) + '" x2="' + X(t[0]) + '" y1="' + (m.t + ph) + '" y2="' + (m.t + ph + 4) + '"/>');
      s.push('<text x="' + X(t[0]) + '" y="' + (m.t + ph + 16) + '" text-anchor="middle">' + esc(t[1]) + '</text>');
    });
    s.push('<text x="' + (m.l + pw / 2) + '" y="' + (Hh - 6) + '" text-anchor="middle">' + esc(axis.key) + '</text>');
    s.push('<text transform="translate(14 ' + (m.t + ph / 2) + ') rotate(-90)" text-anchor="middle">eval ' + esc(metric) + '</text>');
    s.push('</g>');
    plot.groups.forEach(function (g, gi) {
      var line = g.medians[metric] || [];
      if (line.length) {
        var d = line.map(function (p, i) { return (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join('');
        s.push('<path class="median" d="' + d + '" stroke="' + colour(gi) + '"/>');
      }
    });
    var dx = spread(pts.map(function (p) { return p.x; }));
    pts.forEach(function (p, i) {
      var c = colour(p.g);
      s.push('<circle class="dot" tabindex="0" data-row="' + p.row + '" cx="' + (X(p.x) + dx[i]).toFixed(1) + '" cy="' + Y(p.y).toFixed(1) +
        '" r="4.5" fill="' + c + '" fill-opacity="0.55" stroke="' + c + '"><title>' + esc(ROWS[p.row].name + ': ' + metric + ' ' + fmt(p.y)) + '</title></circle>');
    });
    s.push('</svg>');
    var div = el('div', { cls: 'chart' });
    div.innerHTML = s.join('');
    box.appendChild(div);
    div.querySelectorAll('.dot').forEach(function (dot) {
      var ri = Number(dot.getAttribute('data-row'));
      dot.addEventListener('mousemove', function (ev) { showTip(ROWS[ri].name + '\n' + metric + ' ' + fmt(ROWS[ri].final_eval[metric]), ev.clientX, ev.clientY); });
      dot.addEventListener('mouseleave', hideTip);
      function go() { hideTip(); showRow(ri); }
      dot.addEventListener('click', go);
      dot.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') go(); });
    });
  }
  function axisX(axis, i) { return axis.numbers && axis.scale !== 'categorical' ? axis.numbers[i] : i; }
  function plots() {
    var box = $('plots');
    $('plots-caption').textContent = 'One dot per run (click it to find its row), a line through the median of each group\'s runs at each value; the colours are those of the PNGs in plots/.';
    R.plots.forEach(function (plot) {
      var axis = R.axes[plot.axis];
      box.appendChild(el('h3', { text: 'against ' + axis.key + (axis.scale === 'log' ? ' (log scale)' : '') }));
      if (plot.groups.length > 1) {
        var sw = el('div', { cls: 'swatches' });
        plot.groups.forEach(function (g, gi) { sw.appendChild(el('span', {}, [el('span', { cls: 'sw', style: 'background:' + colour(gi) }), g.name])); });
        box.appendChild(sw);
      }
      var grid = el('div', { cls: 'plots' });
      R.plot_metrics.forEach(function (metric) {
        var cell = el('div', { cls: 'plot', 'data-axis': axis.key, 'data-metric': metric }, [el('h3', { text: 'final eval ' + metric })]);
        grid.appendChild(cell);
        axisChart(cell, plot, metric);
      });
      box.appendChild(grid);
    });
  }

  // ---- the table of runs ------------------------------------------------------------------
  var COLS = [];
  function col(key, label, get, opts) { COLS.push(Object.assign({ key: key, label: label, get: get }, opts || {})); }
  col('name', 'run', function (r) { return r.name; }, { txt: true, link: true });
  col('state', 'state', function (r) { return r.state; }, { txt: true });
  R.axes.forEach(function (a, k) {
    col('axis:' + a.key, a.key, function (r) { return a.numbers ? a.numbers[r.value_index[k]] : r.value_index[k]; },
      { show: function (r) { return r.values[k]; } });
  });
  col('steps', 'steps', function (r) { return r.steps; });
  col('stopped_at', 'stopped at', function (r) { return r.stopped_at; });
  col('final_train_loss', 'train loss', function (r) { return r.final_train_loss; });
  R.eval_metrics.forEach(function (m) { col('eval_' + m, 'eval ' + m, function (r) { return r.final_eval[m]; }); });
  col('steps_to_target', R.target ? 'steps to ' + R.target.metric + ' ≥ ' + R.target.at_least : 'steps to target', function (r) { return r.steps_to_target; });
  col('loss_drop_step', 'loss drop', function (r) { return r.loss_drop_step; });
  col('induction_head', 'induction head', function (r) { return r.induction_head; }, { txt: true });
  col('induction_formed_step', 'induction formed', function (r) { return r.induction_formed_step; },
    { show: function (r) { return r.induction_formed === false ? 'never' : fmt(r.induction_formed_step); } });
  col('previous_token_formed_step', 'prev-token formed', function (r) { return r.previous_token_formed_step; });
  R.score_columns.forEach(function (c) { col('score_' + c, c.replace('_', ' ').replace(/_(\d+\.\d+)$/, ' $1'), function (r) { return r.scores[c]; }, { score: true }); });

  var sortBy = { key: null, dir: 1 };
  function compare(a, b) {
    var c = COLS.filter(function (x) { return x.key === sortBy.key; })[0];
    var va = c.get(ROWS[a]), vb = c.get(ROWS[b]);
    if (missing(va) && missing(vb)) return a - b;
    if (missing(va)) return 1;
    if (missing(vb)) return -1;
    var d = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true });
    return d === 0 ? a - b : d * sortBy.dir;
  }
  function table() {
    var t = $('runs'), head = el('tr');
    COLS.forEach(function (c) {
      var th = el('th', { scope: 'col', 'aria-sort': 'none', cls: (c.txt ? 'txt' : '') + (c.score ? ' score' : ''), 'data-col': c.key });
      var b = el('button', { type: 'button', text: c.label, title: 'sort by ' + c.label });
      b.addEventListener('click', function () {
        sortBy.dir = sortBy.key === c.key ? -sortBy.dir : 1;
        sortBy.key = c.key;
        body();
      });
      th.appendChild(b);
      head.appendChild(th);
    });
    t.tHead.appendChild(head);
    var ctl = $('table-controls');
    if (R.score_columns.length) {
      var box = el('input', { type: 'checkbox', id: 'show-scores' });
      box.addEventListener('change', function () { t.classList.toggle('hide-scores', !box.checked); });
      t.classList.add('hide-scores');
      ctl.appendChild(el('label', { cls: 'chip', 'for': 'show-scores' }, [box, 'final head scores (' + R.score_columns.length + ' columns, with_bos)']));
    }
    var nolink = D.links.filter(function (l) { return !l.href; }).length;
    $('runs-caption').textContent = ROWS.length + ' runs. Click a column header (or focus it and press Enter) to sort; again to reverse. ' +
      'A run\'s name opens its own page' + (nolink ? '; ' + nolink + ' runs have none (hover the name to see why and how to make it).' : '.');
    body();
  }
  function body() {
    var order = ROWS.map(function (_, i) { return i; });
    if (sortBy.key) order.sort(compare);
    $('runs').querySelectorAll('th').forEach(function (th) {
      th.setAttribute('aria-sort', th.getAttribute('data-col') !== sortBy.key ? 'none' : sortBy.dir > 0 ? 'ascending' : 'descending');
    });
    var tb = $('runs').tBodies[0];
    tb.innerHTML = '';
    order.forEach(function (i) {
      var r = ROWS[i], tr = el('tr', { id: 'row-' + i, 'data-index': String(r.index) });
      COLS.forEach(function (c) {
        var td = el('td', { cls: (c.txt ? 'txt' : '') + (c.score ? ' score' : '') });
        if (c.link) {
          var l = D.links[i];
          td.appendChild(l.href ? el('a', { href: l.href, text: r.name }) : el('span', { cls: 'nolink', title: l.missing || '', text: r.name }));
        } else if (c.key === 'state') {
          td.appendChild(el('span', { cls: 'state-' + r.state, text: r.state, title: r.note || '' }));
        } else {
          td.textContent = c.show ? c.show(r) : fmt(c.get(r));
          if (c.key === 'induction_formed_step') td.className += r.induction_formed === false ? ' formed-no' : r.induction_formed ? ' formed-yes' : '';
        }
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
  }
  function showRow(i) {
    var tr = $('row-' + i);
    if (!tr) return;
    tr.scrollIntoView({ block: 'center' });
    tr.classList.add('flash');
    setTimeout(function () { tr.classList.remove('flash'); }, 1200);
  }

  summary();
  plots();
  table();
  $('foot').textContent = 'indu view --sweep · sweep.json schema ' + R.schema_version + ' · page data schema ' + D.schema_version +
    (D.notes.length ? ' · ' + D.notes.join(' · ') : '');
})();
