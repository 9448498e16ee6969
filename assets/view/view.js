// indu view: the page's behaviour. Reads the JSON block #indu-data (src/experiments/view.rs
// ViewData), draws every section, and keeps one state: the selected head, detector and
// variant, and the scrubber's step. No libraries, no network.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('indu-data').textContent);
  var L = D.n_layers, H = D.n_heads, POS = D.input.tokens.length;
  var DETECTORS = ['current_token', 'previous_token', 'first_token', 'duplicate_token', 'induction'];
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
    '#7f7f7f', '#bcbd22', '#17becf', '#000000', '#393b79'];
  var S = { layer: L - 1, head: 0, detector: 'induction', variant: 'with_bos', idx: 0, tok: null };

  // ---- small helpers ------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'cls') e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function fmt(v, d) {
    if (v === null || v === undefined || (typeof v === 'number' && isNaN(v))) return '–';
    if (typeof v !== 'number') return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return v.toFixed(d === undefined ? 3 : d);
  }
  function num(v) { return (v === null || v === undefined) ? NaN : v; }
  function headName(l, h) { return l + '.' + h; }

  // ---- colour maps: the PNGs' anchors (src/plot/colormap.rs), interpolated ------------
  function rgb(hex) { var n = parseInt(hex.slice(1), 16); return [n >> 16, (n >> 8) & 255, n & 255]; }
  function cmap(name) {
    var stops = D.colormaps[name].map(rgb), n = stops.length - 1;
    return function (t) {
      if (t === null || isNaN(t)) return [190, 190, 190];
      t = Math.max(0, Math.min(1, t)) * n;
      var i = Math.min(Math.floor(t), n - 1), f = t - i, a = stops[i], b = stops[i + 1];
      return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
    };
  }
  var viridis = cmap('viridis'), blues = cmap('blues'), rdbu = cmap('rdbu');
  function css(c) { return 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')'; }
  function ink(c) { return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) > 140 ? '#111' : '#fff'; }
  function legend(box, map, lo, hi, label) {
    var g = [];
    for (var i = 0; i <= 10; i++) g.push(css(map(i / 10)) + ' ' + (i * 10) + '%');
    box.innerHTML = '';
    box.appendChild(el('span', { text: label }));
    box.appendChild(el('span', { text: fmt(lo, 1) }));
    box.appendChild(el('span', { cls: 'bar', style: 'background:linear-gradient(to right,' + g.join(',') + ')' }));
    box.appendChild(el('span', { text: fmt(hi, 1) }));
  }

  // ---- the time axis ------------------------------------------------------------------
  var dyn = D.dynamics || [];
  var patternSets = (D.snapshots || []).concat([D.patterns]);
  var steps = [];
  (function () {
    var seen = {};
    dyn.forEach(function (l) { seen[l.step] = 1; });
    if (D.scrubber) (D.snapshots || []).forEach(function (p) { seen[p.step] = 1; });
    seen[D.steps] = 1;
    steps = Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
  })();
  S.idx = steps.length - 1;
  function stepNow() { return steps[S.idx]; }
  function latestAtOrBefore(list, step) {
    var best = null;
    list.forEach(function (x) { if (x.step <= step && (!best || x.step >= best.step)) best = x; });
    return best;
  }
  function patternSetNow() {
    return D.scrubber ? (latestAtOrBefore(patternSets, stepNow()) || patternSets[0]) : D.patterns;
  }
  function scoresNow(det, variant) {
    if (dyn.length) {
      var line = latestAtOrBefore(dyn, stepNow()) || dyn[0];
      return ((line.scores[det] || {})[variant]) || null;
    }
    return ((D.heads.scores.scores[det] || {})[variant]) || null;
  }

  // ---- patterns: base64 bytes of the lower triangle -> [q][k] -------------------------
  var decoded = {};
  function pattern(set, l, h) {
    var key = set.step + ':' + l + ':' + h;
    if (decoded[key]) return decoded[key];
    var raw = atob(set.heads[l * H + h]), m = new Float32Array(POS * POS).fill(NaN), i = 0;
    for (var q = 0; q < POS; q++) for (var k = 0; k <= q; k++) m[q * POS + k] = raw.charCodeAt(i++) / 255;
    decoded[key] = m;
    return m;
  }

  // ---- header, nav, summary -----------------------------------------------------------
  function header() {
    $('title').textContent = D.run + '  ·  ' + D.task + '  ·  ' + L + ' layer' + (L > 1 ? 's' : '') +
      ' × ' + H + ' head' + (H > 1 ? 's' : '');
    var nav = $('nav');
    [['sec-summary', 'summary'], ['sec-training', 'training'], ['sec-attention', 'attention'],
      ['sec-detect', 'heads'], ['sec-ablate', 'ablation'], ['sec-attribute', 'attribution']]
      .forEach(function (p) {
        if ((p[0] === 'sec-ablate' && !D.ablate) || (p[0] === 'sec-attribute' && !D.attribute)) return;
        nav.appendChild(el('a', { href: '#' + p[0], text: p[1] }));
      });
  }
  function summary() {
    var box = $('summary'), s = D.summary || {}, stats = el('div', { cls: 'stats' });
    function stat(label, value, cls) {
      stats.appendChild(el('div', { cls: 'stat' + (cls ? ' ' + cls : '') }, [el('b', { text: value }), el('span', { text: label })]));
    }
    stat('steps', String(D.steps));
    if (s.steps_per_s !== undefined) stat('steps / s', fmt(s.steps_per_s, 1));
    if (s.ms_per_step !== undefined) stat('ms / step', fmt(s.ms_per_step, 2));
    if (s.wall_s !== undefined) stat('wall time', fmt(s.wall_s, 1) + ' s');
    if (s.final_train_loss !== undefined) stat('final train loss', fmt(s.final_train_loss));
    Object.keys(s.final_eval || {}).forEach(function (k) { stat('eval ' + k, fmt(s.final_eval[k])); });
    if (s.seed !== undefined) stat('seed', String(s.seed));
    D.phases.forEach(function (p) { stat('phase: ' + p.label, 'step ' + Math.round(p.step), 'phase'); });
    box.appendChild(stats);
    if (!D.summary) box.appendChild(el('p', { cls: 'muted small', text: 'No summary.json yet (a run still training).' }));
    var det = el('details', {}, [el('summary', { text: 'config.toml' }), el('pre', { text: D.config })]);
    box.appendChild(det);
    if (D.notes.length) {
      var ul = el('ul', { cls: 'notes' });
      D.notes.forEach(function (n) { ul.appendChild(el('li', { text: n })); });
      box.appendChild(ul);
    }
    $('foot').textContent = 'indu view · schema ' + D.schema_version + ' · ' + D.run +
      (s.indu_version ? ' · indu ' + s.indu_version : '') + ' · one file, no network';
  }

  // ---- SVG line charts with hover, phase marks and a cursor ---------------------------
  var showTip = INDU.showTip, hideTip = INDU.hideTip, niceTicks = INDU.niceTicks;
  function chart(box, o) {
    var W = 560, Hh = o.height || 210, m = { l: 48, r: 14, t: 22, b: 34 };
    var pw = W - m.l - m.r, ph = Hh - m.t - m.b;
    var series = o.series.filter(function (s) { return s.points.length; });
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (isFinite(p[1]) && (!o.log || p[1] > 0)) { xs.push(p[0]); ys.push(p[1]); } }); });
    if (!xs.length) { box.innerHTML = '<p class="muted small">' + esc(o.empty || 'nothing to plot') + '</p>'; return { cursor: function () {} }; }
    var x0 = 0, x1 = Math.max(o.xMax || 0, Math.max.apply(null, xs)) || 1;
    var y0 = o.yRange ? o.yRange[0] : Math.min.apply(null, ys), y1 = o.yRange ? o.yRange[1] : Math.max.apply(null, ys);
    var f = o.log ? Math.log10 : function (v) { return v; };
    if (o.log) { y0 = Math.pow(10, Math.floor(f(y0) * 4) / 4); y1 = Math.pow(10, Math.ceil(f(y1) * 4) / 4); }
    if (y1 <= y0) { y1 = y0 + 1; }
    function X(v) { return m.l + (v - x0) / (x1 - x0) * pw; }
    function Y(v) { var t = (f(v) - f(y0)) / (f(y1) - f(y0)); return m.t + ph - Math.max(0, Math.min(1, t)) * ph; }
    var svg = ['<svg viewBox="0 0 ' + W + ' ' + Hh + '" role="img" aria-label="' + esc(o.label) + '">'];
    svg.push('<g class="grid">');
    var yt = o.log ? [] : niceTicks(y0, y1, 4);
    if (o.log) { for (var e = Math.floor(f(y0)); e <= Math.ceil(f(y1)); e++) [1, 2, 3, 5].forEach(function (k) { var v = k * Math.pow(10, e); if (v >= y0 * 0.999 && v <= y1 * 1.001) yt.push(v); }); }
    yt.forEach(function (v) { svg.push('<line x1="' + m.l + '" x2="' + (W - m.r) + '" y1="' + Y(v) + '" y2="' + Y(v) + '"/>'); });
    svg.push('</g><g class="axis">');
    svg.push('<path d="M' + m.l + ' ' + m.t + 'V' + (m.t + ph) + 'H' + (W - m.r) + '" fill="none"/>');
    yt.forEach(function (v) { svg.push('<text x="' + (m.l - 5) + '" y="' + (Y(v) + 3.5) + '" text-anchor="end">' + esc(fmt(v, v < 1 ? 2 : 1).replace(/\.0+$/, '')) + '</text>'); });
    niceTicks(x0, x1, 6).forEach(function (v) { svg.push('<text x="' + X(v) + '" y="' + (m.t + ph + 14) + '" text-anchor="middle">' + v + '</text>'); });
    svg.push('<text x="' + (m.l + pw / 2) + '" y="' + (Hh - 2) + '" text-anchor="middle">' + esc(o.xLabel || 'step') + '</text>');
    if (o.yLabel) svg.push('<text x="' + m.l + '" y="' + (m.t - 8) + '">' + esc(o.yLabel) + '</text>');
    svg.push('</g>');
    (o.marks || []).forEach(function (mk, i) {
      var x = X(mk.step);
      svg.push('<g class="mark"><line x1="' + x + '" x2="' + x + '" y1="' + m.t + '" y2="' + (m.t + ph) + '"/>' +
        '<text x="' + (x + 3) + '" y="' + (m.t + 10 + 11 * (i % 3)) + '">' + esc(mk.label) + '</text></g>');
    });
    series.forEach(function (s) {
      var d = '', pen = false;
      s.points.forEach(function (p) {
        if (!isFinite(p[1]) || (o.log && p[1] <= 0)) { pen = false; return; }
        d += (pen ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); pen = true;
      });
      svg.push('<path d="' + d + '" fill="none" stroke="' + s.color + '" stroke-width="' + (s.width || 1.6) +
        '" stroke-opacity="' + (s.opacity || 1) + '" stroke-linejoin="round"/>');
    });
    svg.push('<line class="hover" x1="0" x2="0" y1="' + m.t + '" y2="' + (m.t + ph) + '" visibility="hidden"/>');
    svg.push('<line class="cursor" x1="0" x2="0" y1="' + m.t + '" y2="' + (m.t + ph) + '" visibility="hidden"/>');
    svg.push('<rect class="hit" x="' + m.l + '" y="' + m.t + '" width="' + pw + '" height="' + ph + '" fill="transparent"/></svg>');
    box.innerHTML = svg.join('');
    if (o.legend) {
      var lg = el('div', { cls: 'controls' });
      series.forEach(function (s) { lg.appendChild(el('span', { cls: 'chip' }, [el('span', { cls: 'sw', style: 'background:' + s.color }), el('span', { text: s.name })])); });
      box.appendChild(lg);
    }
    var root = box.querySelector('svg'), hover = root.querySelector('.hover'), cur = root.querySelector('.cursor');
    root.querySelector('.hit').addEventListener('mousemove', function (ev) {
      var r = root.getBoundingClientRect(), sx = (ev.clientX - r.left) / r.width * W;
      var step = x0 + (sx - m.l) / pw * (x1 - x0), lines = [], near = null;
      series.forEach(function (s) {
        var best = null;
        s.points.forEach(function (p) { if (isFinite(p[1]) && (!best || Math.abs(p[0] - step) < Math.abs(best[0] - step))) best = p; });
        if (best) { lines.push(s.name + ': ' + fmt(best[1], 4)); if (near === null || Math.abs(best[0] - step) < Math.abs(near - step)) near = best[0]; }
      });
      if (near === null) return;
      hover.setAttribute('x1', X(near)); hover.setAttribute('x2', X(near)); hover.setAttribute('visibility', 'visible');
      showTip((o.xLabel || 'step') + ' ' + near + '\n' + lines.join('\n'), ev.clientX, ev.clientY);
    });
    root.querySelector('.hit').addEventListener('mouseleave', function () { hover.setAttribute('visibility', 'hidden'); hideTip(); });
    return {
      cursor: function (step) {
        if (step === null) { cur.setAttribute('visibility', 'hidden'); return; }
        cur.setAttribute('x1', X(step)); cur.setAttribute('x2', X(step)); cur.setAttribute('visibility', 'visible');
      }
    };
  }

  // ---- loss curves ----------------------------------------------------------------------
  var lossCharts = [];
  var lossOn = { loss: true, eval_loss: true };
  function lossSection() {
    var keys = Object.keys(D.curves), losses = keys.filter(function (k) { return /loss/.test(k); });
    var metrics = keys.filter(function (k) { return k.indexOf('eval_') === 0 && !/loss/.test(k); });
    var colour = {};
    keys.forEach(function (k, i) { colour[k] = PALETTE[i % PALETTE.length]; });
    colour.loss = '#9aa5bd'; colour.eval_loss = '#3b5bdb';
    var ctl = $('loss-controls');
    ctl.appendChild(el('span', { cls: 'lab', text: 'curves' }));
    losses.forEach(function (k) {
      var box = el('input', { type: 'checkbox' });
      box.checked = !!lossOn[k];
      box.addEventListener('change', function () { lossOn[k] = box.checked; draw(); });
      ctl.appendChild(el('label', { cls: 'chip' }, [box, el('span', { cls: 'sw', style: 'background:' + colour[k] }), el('span', { text: k })]));
    });
    function draw() {
      var marks = D.phases;
      lossCharts = [chart($('loss-chart'), {
        label: 'loss curves', log: true, yLabel: 'loss (log)', xMax: D.steps, marks: marks,
        series: losses.filter(function (k) { return lossOn[k]; }).map(function (k) {
          return { name: k, points: D.curves[k], color: colour[k], width: k === 'eval_loss' ? 2.2 : 1.3 };
        })
      })];
      if (metrics.length) {
        lossCharts.push(chart($('metric-chart'), {
          label: 'eval metrics', height: 180, yLabel: 'eval metrics', xMax: D.steps, marks: marks, yRange: [0, 1], legend: true,
          series: metrics.map(function (k) { return { name: k, points: D.curves[k], color: colour[k] }; })
        }));
      }
      cursors();
    }
    draw();
  }

  // ---- head-score grids -----------------------------------------------------------------
  function flaggedNow(det, v) {
    var t = D.heads.thresholds[det];
    var m = scoresNow(det, v) || [];
    return function (l, h) { return m[l] && m[l][h] > t; };
  }
  function gridControls() {
    var ctl = $('grid-controls');
    ctl.appendChild(el('span', { cls: 'lab', text: 'variant' }));
    ['with_bos', 'exclude_bos'].forEach(function (v) {
      var b = el('button', { type: 'button', cls: 'btn', text: v.replace('_', ' '), 'aria-pressed': String(v === S.variant), 'data-variant': v });
      b.addEventListener('click', function () {
        S.variant = v;
        ctl.querySelectorAll('[data-variant]').forEach(function (x) { x.setAttribute('aria-pressed', String(x.getAttribute('data-variant') === v)); });
        grids(); scoreChart();
      });
      ctl.appendChild(b);
    });
    legend($('legend-scores'), blues, 0, 1, 'score');
  }
  function grids() {
    var box = $('grids');
    box.innerHTML = '';
    var src = dyn.length ? 'tracking probe at step ' + (latestAtOrBefore(dyn, stepNow()) || dyn[0]).step : D.heads.description;
    $('grid-caption').textContent = 'Click a cell (or focus it and press Enter) to open that head; click a grid title to plot its score over training. Scores on the ' + src + '; a dot marks a score above the detect-heads threshold.';
    DETECTORS.forEach(function (det) {
      var m = scoresNow(det, S.variant), flag = flaggedNow(det, S.variant);
      var g = el('div', { cls: 'hgrid' });
      var name = el('div', { cls: 'gname', text: det.replace('_', ' ') + (det === S.detector ? '  ◂' : '') });
      name.style.cursor = 'pointer';
      name.addEventListener('click', function () { S.detector = det; grids(); scoreChart(); });
      g.appendChild(name);
      var tab = el('div', { cls: 'gtab', role: 'grid', 'aria-label': det + ' scores', 'data-grid': det });
      tab.style.gridTemplateColumns = '16px repeat(' + H + ', 46px)';
      tab.appendChild(el('span'));
      for (var h = 0; h < H; h++) tab.appendChild(el('span', { cls: 'ax', text: 'H' + h }));
      for (var l = 0; l < L; l++) {
        tab.appendChild(el('span', { cls: 'ax', text: 'L' + l }));
        for (h = 0; h < H; h++) {
          var v = m ? num(m[l][h]) : NaN, c = blues(v);
          var cell = el('div', {
            cls: 'cell' + (l === S.layer && h === S.head ? ' sel' : '') + (flag(l, h) ? ' flag' : ''),
            role: 'gridcell', tabindex: (l === S.layer && h === S.head) ? '0' : '-1',
            'data-l': l, 'data-h': h, 'aria-label': det + ' head ' + headName(l, h) + ': ' + fmt(v, 2),
            style: 'background:' + css(c) + ';color:' + ink(c), text: fmt(v, 2)
          });
          tab.appendChild(cell);
        }
      }
      tab.addEventListener('click', function (ev) {
        var c = ev.target.closest('.cell');
        if (c) select(+c.getAttribute('data-l'), +c.getAttribute('data-h'), det, c);
      });
      tab.addEventListener('keydown', function (ev) { gridKey(ev, det); });
      g.appendChild(tab);
      box.appendChild(g);
    });
  }
  function gridKey(ev, det) {
    var c = ev.target.closest('.cell');
    if (!c) return;
    var l = +c.getAttribute('data-l'), h = +c.getAttribute('data-h');
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (moves[ev.key]) {
      ev.preventDefault();
      var nl = Math.max(0, Math.min(L - 1, l + moves[ev.key][0])), nh = Math.max(0, Math.min(H - 1, h + moves[ev.key][1]));
      var tab = c.parentNode, next = tab.querySelector('.cell[data-l="' + nl + '"][data-h="' + nh + '"]');
      tab.querySelectorAll('.cell').forEach(function (x) { x.setAttribute('tabindex', '-1'); });
      next.setAttribute('tabindex', '0'); next.focus();
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault(); select(l, h, det, c);
    }
  }
  function select(l, h, det, focusFrom) {
    S.layer = l; S.head = h;
    if (det) S.detector = det;
    grids(); scoreChart(); attention();
    if (focusFrom && det) {
      var again = document.querySelector('[data-grid="' + det + '"] .cell[data-l="' + l + '"][data-h="' + h + '"]');
      if (again) again.focus();
    }
  }

  // ---- scores over training -------------------------------------------------------------
  var scoreCharts = [];
  function scoreChart() {
    var box = $('score-chart');
    $('over-steps-title').textContent = S.detector.replace('_', ' ') + ' score over training (' + S.variant.replace('_', ' ') + ')';
    if (!dyn.length) {
      box.innerHTML = '<p class="muted small">The run tracked no dynamics (train with --set train.track_every=N to record head scores over training).</p>';
      scoreCharts = [];
      return;
    }
    var series = [];
    for (var l = 0; l < L; l++) for (var h = 0; h < H; h++) {
      (function (l, h) {
        var sel = l === S.layer && h === S.head;
        series.push({
          name: 'head ' + headName(l, h), color: PALETTE[(l * H + h) % PALETTE.length], width: sel ? 3 : 1.3, opacity: sel ? 1 : 0.55,
          points: dyn.map(function (line) { var m = (line.scores[S.detector] || {})[S.variant]; return [line.step, m ? num(m[l][h]) : NaN]; })
        });
      })(l, h);
    }
    var icl = dyn.filter(function (x) { return x.icl !== null; });
    var top = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] > top) top = p[1]; }); });
    top = Math.min(1, Math.max(0.2, Math.ceil(top * 11) / 10));
    scoreCharts = [chart(box, { label: 'scores over training', yRange: [0, top], yLabel: 'score', xMax: D.steps, marks: D.phases, series: series, height: 200, legend: true })];
    if (icl.length) {
      var ib = $('icl-chart') || box.parentNode.appendChild(el('div', { id: 'icl-chart', cls: 'chart' }));
      scoreCharts.push(chart(ib, {
        label: 'ICL score', yLabel: 'ICL score (late − early position loss)', xMax: D.steps, marks: D.phases, height: 150,
        series: [{ name: 'icl', color: '#2f9e44', width: 2, points: icl.map(function (x) { return [x.step, x.icl]; }) }]
      }));
    }
    cursors();
  }
  // ---- held-out loss by position: step 0 against the scrubber's step --------------------
  function posChart() {
    if (!dyn.length) return;
    $('pos-title').hidden = false;
    var line = latestAtOrBefore(dyn, stepNow()) || dyn[0];
    var pts = function (l) { return l.loss_by_pos.map(function (v, i) { return [i, num(v)]; }); };
    var series = [{ name: 'step ' + dyn[0].step, points: pts(dyn[0]), color: '#9aa5bd', width: 1.5 }];
    if (line !== dyn[0]) series.push({ name: 'step ' + line.step, points: pts(line), color: '#3b5bdb', width: 2.2 });
    chart($('pos-chart'), { label: 'loss by position', log: true, yLabel: 'loss (log)', xLabel: 'position', height: 170, series: series, legend: true });
  }
  function cursors() {
    var s = D.scrubber ? stepNow() : null;
    lossCharts.concat(scoreCharts).forEach(function (c) { c.cursor(s); });
  }

  // ---- attention: thumbnails, large view, token strip -----------------------------------
  function paint(canvas, m, px) {
    var g = canvas.getContext('2d'), img = g.createImageData(POS, POS);
    for (var i = 0; i < POS * POS; i++) {
      var v = m[i], c = isNaN(v) ? [246, 247, 250] : viridis(v);
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
    }
    if (!px) { canvas.width = POS; canvas.height = POS; g.putImageData(img, 0, 0); return; }
    var tmp = document.createElement('canvas');
    tmp.width = POS; tmp.height = POS; tmp.getContext('2d').putImageData(img, 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(tmp, px.x, px.y, px.size, px.size);
  }
  function thumbs() {
    var box = $('thumbs'), set = patternSetNow();
    box.innerHTML = '';
    box.style.gridTemplateColumns = 'repeat(' + H + ', minmax(0, 150px))';
    for (var l = 0; l < L; l++) for (var h = 0; h < H; h++) {
      var c = el('canvas'), t = el('div', {
        cls: 'thumb' + (l === S.layer && h === S.head ? ' sel' : ''), tabindex: '0', role: 'button',
        'aria-label': 'open head ' + headName(l, h), 'data-l': l, 'data-h': h
      }, [c, el('span', { text: 'L' + l + ' H' + h })]);
      paint(c, pattern(set, l, h));
      box.appendChild(t);
    }
  }
  $('thumbs').addEventListener('click', function (ev) {
    var t = ev.target.closest('.thumb');
    if (t) select(+t.getAttribute('data-l'), +t.getAttribute('data-h'));
  });
  $('thumbs').addEventListener('keydown', function (ev) {
    var t = ev.target.closest('.thumb');
    if (t && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); select(+t.getAttribute('data-l'), +t.getAttribute('data-h')); }
  });
  var big = $('big'), BIG = { size: 560, m: 0, cell: 0 };
  function bigView() {
    var set = patternSetNow(), m = pattern(set, S.layer, S.head), labels = D.input.labels;
    var dpr = window.devicePixelRatio || 1, W = BIG.size;
    big.width = W * dpr; big.height = W * dpr;
    var g = big.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, W, W);
    var margin = 64, cell = (W - margin - 8) / POS;
    BIG.m = margin; BIG.cell = cell;
    paint(big, m, { x: margin, y: margin, size: cell * POS });
    var every = Math.max(1, Math.ceil(11 / cell));
    g.fillStyle = '#4a5368'; g.font = Math.min(11, Math.max(8, cell * 0.8)) + 'px ui-monospace, Menlo, Consolas, monospace';
    for (var i = 0; i < POS; i++) {
      if (i % every !== 0 && i !== S.tok) continue;
      var y = margin + (i + 0.5) * cell;
      g.textAlign = 'right'; g.textBaseline = 'middle';
      g.fillStyle = i === S.tok ? '#e8590c' : '#4a5368';
      g.fillText(labels[i] + ' ' + i, margin - 4, y);
      g.save(); g.translate(margin + (i + 0.5) * cell, margin - 4); g.rotate(-Math.PI / 2);
      g.textAlign = 'left'; g.fillText(i + ' ' + labels[i], 0, 0); g.restore();
    }
    g.fillStyle = '#6a7385'; g.font = '11px system-ui, sans-serif'; g.textAlign = 'left'; g.textBaseline = 'alphabetic';
    g.fillText('key →', margin, 10);
    g.save(); g.translate(10, margin); g.rotate(Math.PI / 2); g.fillText('query →', 0, 0); g.restore();
    if (S.tok !== null) {
      g.strokeStyle = '#e8590c'; g.lineWidth = 1.5;
      g.strokeRect(margin, margin + S.tok * cell, cell * POS, cell);
      g.strokeRect(margin + S.tok * cell, margin, cell, cell * POS);
    }
    g.strokeStyle = '#c3c8d4'; g.lineWidth = 1; g.strokeRect(margin, margin, cell * POS, cell * POS);
    var when = D.scrubber ? (set.step === D.steps ? 'final model, step ' + set.step : 'snapshot at step ' + set.step) : 'final model';
    $('big-title').textContent = 'layer ' + S.layer + ' head ' + S.head + '  ·  ' + when;
    big.setAttribute('data-head', headName(S.layer, S.head));
    big.setAttribute('data-step', String(set.step));
  }
  big.addEventListener('mousemove', function (ev) {
    var r = big.getBoundingClientRect(), sx = (ev.clientX - r.left) / r.width * BIG.size, sy = (ev.clientY - r.top) / r.height * BIG.size;
    var k = Math.floor((sx - BIG.m) / BIG.cell), q = Math.floor((sy - BIG.m) / BIG.cell), tipBox = $('big-tip');
    if (q < 0 || k < 0 || q >= POS || k >= POS) { tipBox.hidden = true; return; }
    var m = pattern(patternSetNow(), S.layer, S.head), v = m[q * POS + k], lab = D.input.labels;
    tipBox.textContent = 'query ' + q + ' ' + JSON.stringify(lab[q]) + ' → key ' + k + ' ' + JSON.stringify(lab[k]) + '\nattention ' + (isNaN(v) ? '(masked)' : fmt(v, 3));
    tipBox.hidden = false;
    tipBox.style.left = Math.min(ev.clientX + 14, window.innerWidth - tipBox.offsetWidth - 6) + 'px';
    tipBox.style.top = (ev.clientY + 14) + 'px';
  });
  big.addEventListener('mouseleave', function () { $('big-tip').hidden = true; });
  function strip() {
    var box = $('strip');
    if (!box.childNodes.length) {
      D.input.labels.forEach(function (lab, i) {
        var t = el('span', { cls: 'tok', 'data-i': i, tabindex: '0' }, [el('span', { text: lab }), el('small', { text: String(i) })]);
        box.appendChild(t);
      });
      box.addEventListener('mouseover', function (ev) { var t = ev.target.closest('.tok'); if (t) hoverTok(+t.getAttribute('data-i')); });
      box.addEventListener('focusin', function (ev) { var t = ev.target.closest('.tok'); if (t) hoverTok(+t.getAttribute('data-i')); });
      box.addEventListener('mouseleave', function () { hoverTok(null); });
      box.addEventListener('focusout', function () { hoverTok(null); });
    }
    var m = pattern(patternSetNow(), S.layer, S.head), i = S.tok;
    box.querySelectorAll('.tok').forEach(function (t, j) {
      t.classList.toggle('hov', j === i);
      if (i === null) { t.style.background = ''; t.style.color = ''; t.style.borderBottomColor = 'transparent'; t.title = ''; return; }
      var to = j <= i ? m[i * POS + j] : NaN, from = j >= i ? m[j * POS + i] : NaN;
      if (!isNaN(to)) { var c = viridis(to); t.style.background = css(c); t.style.color = ink(c); } else { t.style.background = '#f1f3f7'; t.style.color = ''; }
      t.style.borderBottomColor = isNaN(from) ? 'transparent' : 'rgba(232,89,12,' + Math.min(1, from * 1.2).toFixed(3) + ')';
      t.title = (isNaN(to) ? '' : i + ' attends to ' + j + ': ' + fmt(to)) + (isNaN(from) ? '' : (isNaN(to) ? '' : '\n') + j + ' attends to ' + i + ': ' + fmt(from));
    });
  }
  function hoverTok(i) { if (S.tok === i) return; S.tok = i; strip(); bigView(); }
  function attention() {
    $('attn-caption').textContent = 'On ' + D.input.source + ' (' + POS + ' tokens). Click a thumbnail to open a head.' +
      (D.scrubber && D.snapshots.length ? ' The patterns follow the training scrubber (snapshots at steps ' + D.snapshots.map(function (p) { return p.step; }).join(', ') + ', and the final model).' :
        D.scrubber ? ' The run kept no snapshots (train with --set train.snapshot_every=N): the patterns are the final model\'s.' : '');
    thumbs(); bigView(); strip();
  }

  // ---- detect-heads, ablation, attribution ----------------------------------------------
  function table(head, rows) {
    var t = el('table', { cls: 't' }), tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', { text: h })); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c, i) {
        var td = (c instanceof Node) ? el('td', { cls: 'node' }, [c]) : el('td', { text: c });
        if (i > 0 && !(c instanceof Node)) td.className = 'num';
        row.appendChild(td);
      });
      t.appendChild(row);
    });
    return t;
  }
  function pills(list) {
    var s = el('span');
    if (!list || !list.length) s.appendChild(el('span', { cls: 'muted', text: 'none' }));
    (list || []).forEach(function (x) { s.appendChild(el('span', { cls: 'pill', text: x })); });
    return s;
  }
  function detect() {
    var hd = D.heads, box = $('detect');
    box.appendChild(el('p', { cls: 'muted small', text: 'detect-heads (heads.json at its defaults) on the ' + hd.description + (hd.note ? ' — ' + hd.note : '') }));
    box.appendChild(table(['detector', 'threshold', 'heads above (with BOS)', 'heads above (excluding BOS)'], DETECTORS.map(function (d) {
      var f = hd.flagged[d] || {};
      return [d.replace('_', ' '), fmt(hd.thresholds[d], 2), pills(f.with_bos), pills(f.exclude_bos)];
    })));
    if (hd.logprobs) {
      var lp = hd.logprobs;
      box.appendChild(table(['probe log-prob of the next token', 'first copy', 'later copies', 'chance'],
        [['mean', fmt(lp.first_copy), fmt(lp.later_copies), fmt(lp.chance)]]));
    }
    if (hd.tl_detect_head) {
      var sc = hd.tl_detect_head.scores || {}, heads = [];
      for (var l = 0; l < L; l++) for (var h = 0; h < H; h++) heads.push([l, h]);
      var rows = [];
      Object.keys(sc).forEach(function (kind) {
        Object.keys(sc[kind]).forEach(function (v) {
          rows.push([kind + ' (' + v + ')'].concat(heads.map(function (p) { return fmt(num(sc[kind][v][p[0]][p[1]]), 2); })));
        });
      });
      var d = el('details', {}, [el('summary', { text: 'TransformerLens detect_head scores' }),
        table(['head kind (error measure)'].concat(heads.map(function (p) { return headName(p[0], p[1]); })), rows)]);
      box.appendChild(d);
    }
  }
  function ablate() {
    var a = D.ablate;
    if (!a) return;
    $('sec-ablate').hidden = false;
    var box = $('ablate'), keys = Object.keys(a.clean || {});
    box.appendChild(el('p', { cls: 'muted small', text: 'ablate.json: ' + a.mode + ' ablation on the ' + a.description }));
    var rows = [['clean'].concat(keys.map(function (k) { return fmt(a.clean[k]); })).concat(['', ''])];
    (a.ablations || []).forEach(function (r) {
      rows.push([r.heads.join(', ')].concat(keys.map(function (k) { return fmt(r.metrics[k]); }))
        .concat([fmt(r.loss_increase), fmt(r.later_copies_increase)]));
    });
    box.appendChild(table(['heads'].concat(keys).concat(['loss increase', 'later-copies increase']), rows));
  }
  function attribute() {
    var a = D.attribute;
    if (!a) return;
    $('sec-attribute').hidden = false;
    var box = $('attribute'), comps = a.components || [];
    var lim = Math.max.apply(null, (a.first_copy || []).concat(a.later_copies || []).map(Math.abs).concat([1e-9]));
    box.appendChild(el('p', { cls: 'muted small', text: 'attribute.json: ' + a.description }));
    function bar(v) {
      var c = rdbu(0.5 + 0.5 * v / lim), s = el('span', { text: fmt(v) });
      s.style.cssText = 'display:inline-block;min-width:70px;padding:1px 6px;border-radius:4px;background:' + css(c) + ';color:' + ink(c);
      return s;
    }
    box.appendChild(table(['component', 'first copy', 'later copies'], comps.map(function (c, i) {
      return [c, bar(a.first_copy[i]), bar(a.later_copies[i])];
    })));
  }

  // ---- the scrubber -----------------------------------------------------------------------
  var timer = null;
  function scrubber() {
    if (!D.scrubber) return;
    var bar = $('scrub'), range = $('scrub-range'), ticks = $('scrub-ticks');
    bar.hidden = false;
    range.max = String(steps.length - 1);
    range.value = String(S.idx);
    var snap = {};
    (D.snapshots || []).forEach(function (p) { snap[p.step] = 1; });
    snap[D.steps] = 1;
    steps.forEach(function (s, i) {
      var t = el('i', { cls: snap[s] ? 'snap' : '' });
      t.style.left = (steps.length > 1 ? i / (steps.length - 1) * 100 : 0) + '%';
      ticks.appendChild(t);
    });
    range.addEventListener('input', function () { S.idx = +range.value; scrubbed(); });
    $('scrub-play').addEventListener('click', function () {
      var b = this;
      if (timer) { clearInterval(timer); timer = null; b.innerHTML = '&#9654;'; b.setAttribute('aria-label', 'play'); return; }
      if (S.idx === steps.length - 1) S.idx = 0;
      b.innerHTML = '&#10074;&#10074;'; b.setAttribute('aria-label', 'pause');
      timer = setInterval(function () {
        if (S.idx >= steps.length - 1) { clearInterval(timer); timer = null; b.innerHTML = '&#9654;'; return; }
        S.idx++; range.value = String(S.idx); scrubbed();
      }, Math.max(60, 4000 / steps.length));
      range.value = String(S.idx); scrubbed();
    });
    scrubbed();
  }
  function scrubbed() {
    var s = stepNow(), set = patternSetNow();
    $('scrub-step').textContent = 'step ' + s + ' / ' + D.steps;
    $('scrub-note').textContent = D.snapshots.length || set.step === D.steps ? 'patterns: ' + (set.step === D.steps ? 'final model' : 'snapshot ' + set.step) : '';
    grids(); cursors(); posChart(); thumbs(); bigView(); strip();
  }

  // ---- start ------------------------------------------------------------------------------
  header();
  summary();
  lossSection();
  gridControls();
  grids();
  scoreChart();
  posChart();
  legend($('legend-attn'), viridis, 0, 1, 'attention');
  attention();
  detect();
  ablate();
  attribute();
  scrubber();
  window.__induView = { steps: steps, state: S };
})();
