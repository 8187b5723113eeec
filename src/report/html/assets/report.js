// heapsnap HTML report: the zoomable treemap of the dominator tree (squarified layout drawn as SVG),
// sortable and filterable tables. Plain JavaScript, no library, no network: the data is the JSON element
// #tree-data written by heapsnap (rows [id, parent, name, class, type, self, retained, moreCount,
// moreRetained, highlighted], strings as indexes into `strings`, every node after its parent).
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';

  // Sizes as heapsnap's terminal output shows them (1000-based units).
  function humanSize(b) {
    var units = ['kB', 'MB', 'GB', 'TB'];
    if (b < 1000) return b + ' B';
    var v = b / 1000, u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    if (v < 10) return v.toFixed(2) + ' ' + units[u];
    if (v < 100) return v.toFixed(1) + ' ' + units[u];
    return v.toFixed(0) + ' ' + units[u];
  }
  function percent(part, total) {
    return total === 0 ? '-' : (part * 100 / total).toFixed(1) + '%';
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    return e;
  }

  // ---- Tables: sort by a column (numbers by data-v), filter by the first column. ----
  function initTables() {
    var tables = document.querySelectorAll('table.sortable');
    Array.prototype.forEach.call(tables, function (table) {
      var ths = table.querySelectorAll('thead th');
      Array.prototype.forEach.call(ths, function (th, col) {
        var button = th.querySelector('button');
        if (!button) return;
        button.addEventListener('click', function () {
          var numeric = th.classList.contains('num');
          var current = th.getAttribute('aria-sort');
          // Numbers sort largest first, text A-Z first; a second click reverses.
          var desc = current ? current === 'ascending' : numeric;
          Array.prototype.forEach.call(ths, function (h) { h.removeAttribute('aria-sort'); });
          th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          rows.forEach(function (r, i) { r._i = i; });
          rows.sort(function (a, b) {
            var x = a.cells[col], y = b.cells[col], c;
            if (numeric) {
              c = Number(x.getAttribute('data-v') || 0) - Number(y.getAttribute('data-v') || 0);
            } else {
              c = x.textContent.localeCompare(y.textContent);
            }
            if (desc) c = -c;
            return c || a._i - b._i;
          });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
    var filters = document.querySelectorAll('input.filter');
    Array.prototype.forEach.call(filters, function (input) {
      var table = document.getElementById(input.getAttribute('data-table'));
      var count = input.parentNode.parentNode.querySelector('.count');
      input.addEventListener('input', function () {
        var q = input.value.toLowerCase();
        var shown = 0, rows = table.tBodies[0].rows;
        for (var i = 0; i < rows.length; i++) {
          var hit = rows[i].cells[0].textContent.toLowerCase().indexOf(q) !== -1;
          rows[i].hidden = !hit;
          if (hit) shown++;
        }
        count.textContent = q ? shown + ' of ' + rows.length + ' rows' : '';
      });
    });
  }

  // ---- Treemap ----
  var dataEl = document.getElementById('tree-data');
  var view = document.getElementById('treemap-view');
  if (!dataEl || !view) { initTables(); return; }
  var data = JSON.parse(dataEl.textContent);
  var S = data.strings;
  var nodes = data.nodes.map(function (r, i) {
    return {
      idx: i, id: r[0], parent: r[1], name: S[r[2]], cls: S[r[3]], type: S[r[4]], self: r[5],
      retained: r[6], moreCount: r[7], moreRetained: r[8], hl: r[9] === 1, kids: [], depth: 0
    };
  });
  nodes.forEach(function (n) {
    if (n.parent >= 0) {
      var p = nodes[n.parent];
      p.kids.push(n);
      n.depth = p.depth + 1;
    }
  });
  var total = nodes.length ? nodes[0].retained : 0;
  var zoom = 0;
  var crumbs = document.getElementById('crumbs');
  var tip = document.getElementById('tip');
  var treeTable = document.getElementById('tree-table');

  function chain(n) {
    var out = [];
    for (var x = n; x; x = x.parent >= 0 ? nodes[x.parent] : null) out.unshift(x);
    return out;
  }
  function label(n) { return n.name || '(' + n.type + ')'; }

  // What a block holds, as layout items: its kept children, the folded ones as one "N more" item and its own
  // (shallow) size; their bytes add up to its retained size.
  function items(n) {
    var list = n.kids.map(function (k) { return { node: k, bytes: k.retained }; });
    if (n.moreCount > 0) list.push({ more: n, bytes: n.moreRetained });
    if (n.self > 0) list.push({ own: n, bytes: n.self });
    return list;
  }

  // Layout values, largest first: the bytes (equal shares when all are 0 B, so that a block of 0 B can be
  // looked into). Sorted stably: equal values keep the children's order, then "N more", then own size.
  function layout(list) {
    var sum = 0;
    list.forEach(function (it) { sum += it.bytes; });
    var out = list.map(function (it) {
      return { node: it.node, more: it.more, own: it.own, bytes: it.bytes, value: sum === 0 ? 1 : it.bytes };
    }).filter(function (it) { return it.value > 0; });
    out.sort(function (a, b) { return b.value - a.value; });
    return out;
  }

  // Squarified treemap (Bruls, Huizing, van Wijk): rows along the shorter side, each row added to while
  // the worst aspect ratio improves. `list` is sorted by value, largest first.
  function squarify(list, x, y, w, h) {
    var out = [];
    var sum = 0;
    list.forEach(function (it) { sum += it.value; });
    if (sum <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / sum;
    var i = 0;
    while (i < list.length) {
      var side = Math.min(w, h);
      var row = [], rowSum = 0, best = Infinity;
      while (i < list.length) {
        var a = list[i].value * scale;
        var s2 = rowSum + a;
        var maxA = row.length ? Math.max(row[0].value * scale, a) : a;
        var minA = a;
        var worst = Math.max((side * side * maxA) / (s2 * s2), (s2 * s2) / (side * side * minA));
        if (row.length && worst > best) break;
        row.push(list[i]); rowSum = s2; best = worst; i++;
      }
      var thick = rowSum / side;
      var off = 0;
      row.forEach(function (it) {
        var len = (it.value * scale) / thick;
        if (w >= h) out.push({ it: it, x: x, y: y + off, w: thick, h: len });
        else out.push({ it: it, x: x + off, y: y, w: len, h: thick });
        off += len;
      });
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
    return out;
  }

  // HEAD: a nested block's title strip; MIN: the smallest side drawn; FLOOR, FOOT: see drawZoomed().
  var HEAD = 16, MIN = 3, FLOOR = 1600, FOOT = 20;

  function blockText(it) {
    if (it.node) return label(it.node);
    if (it.more) return '… ' + it.more.moreCount + ' more';
    return 'own size';
  }

  // The zoomed block: its children squarified to scale, and its "N more" and own size with them, except when
  // one of those would be under FLOOR px² (a "N more" of 0 B, a small own size): then it is a labelled block
  // in a FOOT px strip under the map, not to scale, so that the zoomed view always shows everything the
  // block holds and its counts add up.
  function drawZoomed(svg, z, width, height) {
    var list = items(z), sum = 0;
    list.forEach(function (it) { sum += it.bytes; });
    var foot = list.filter(function (it) {
      return !it.node && (sum === 0 || (it.bytes * width * height) / sum < FLOOR);
    });
    var map = list.filter(function (it) { return foot.indexOf(it) < 0; });
    var mapHeight = foot.length ? height - FOOT : height;
    svg.setAttribute('data-map-height', mapHeight);
    draw(svg, map, 0, 0, width, mapHeight, 1);
    var w = width / Math.max(1, foot.length);
    foot.forEach(function (it, i) {
      block(svg, it, { x: i * w, y: mapHeight + 2, w: w - 2, h: FOOT - 2 }, 1).classList.add('footer');
    });
  }

  function draw(svg, list, x, y, w, h, level) {
    squarify(layout(list), x, y, w, h).forEach(function (r) {
      if (r.w >= MIN && r.h >= MIN) block(svg, r.it, r, level);
    });
  }

  // One block, and what it holds nested inside as deep as it fits: a block with children is drawn into,
  // below its title, while it is at least 30 × (HEAD + 12) px; a block under MIN px on a side is not drawn
  // (the table lists it).
  function block(svg, it, r, level) {
    var n = it.node;
    var g = svgEl('g', {
      'class': 'node level' + level + (level % 2 ? '' : ' even'), 'data-level': level,
      'data-bytes': it.bytes, 'data-area': Math.round(r.w * r.h)
    });
    g.appendChild(svgEl('rect', { x: r.x.toFixed(1), y: r.y.toFixed(1), width: r.w.toFixed(1), height: r.h.toFixed(1) }));
    if (n) {
      g.setAttribute('data-idx', n.idx);
      g.setAttribute('data-id', n.id);
      g.setAttribute('data-depth', n.depth);
      g.classList.add('t-' + n.type.replace(/[^a-z]/g, ''));
      if (n.hl) g.classList.add('hl');
      if (n.kids.length || n.moreCount) g.classList.add('zoomable');
    } else if (it.more) {
      g.classList.add('more');
      g.setAttribute('data-more', it.more.idx);
    } else {
      g.classList.add('own');
      g.setAttribute('data-own', it.own.idx);
    }
    var text = blockText(it);
    if (level === 1) {
      g.setAttribute('tabindex', '0');
      if (g.classList.contains('zoomable')) g.setAttribute('role', 'button');
      g.setAttribute('aria-label', text + ', ' + humanSize(it.bytes) + (n ? ' retained' : ''));
    }
    svg.appendChild(g);
    if (r.w > 40 && r.h > 13) {
      var two = r.h > 28 && r.w > 60;
      // "N more" and own size say their bytes on the first line when a second does not fit.
      if (!n && !two) text += ', ' + humanSize(it.bytes);
      var t = svgEl('text', { x: (r.x + 3).toFixed(1), y: (r.y + 12).toFixed(1) });
      var maxChars = Math.floor((r.w - 6) / 6.5);
      t.textContent = text.length > maxChars ? text.slice(0, Math.max(1, maxChars - 1)) + '…' : text;
      g.appendChild(t);
      if (two) {
        var t2 = svgEl('text', { x: (r.x + 3).toFixed(1), y: (r.y + 25).toFixed(1), 'class': 'size' });
        t2.textContent = humanSize(it.bytes);
        g.appendChild(t2);
      }
    }
    if (n && (n.kids.length || n.moreCount) && r.w > 30 && r.h > HEAD + 12) {
      var top = HEAD + (r.h > 40 ? 12 : 0);
      draw(svg, items(n), r.x + 2, r.y + top, r.w - 4, r.h - top - 2, level + 1);
    }
    return g;
  }

  function render() {
    var z = nodes[zoom];
    drawnWidth = view.clientWidth;
    var width = Math.max(320, view.clientWidth || 960);
    var height = Math.max(280, Math.min(640, Math.round(width * 0.55)));
    var svg = svgEl('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, id: 'treemap-svg' });
    svg.setAttribute('data-zoom', z.id);
    svg.setAttribute('data-depth', z.depth);
    drawZoomed(svg, z, width, height);
    view.textContent = '';
    view.appendChild(svg);
    // Breadcrumbs: the dominator chain of the zoomed block.
    crumbs.textContent = '';
    chain(z).forEach(function (n, i, all) {
      var li = el('li');
      var b = el('button', { type: 'button', 'data-idx': n.idx }, label(n) + ' (' + humanSize(n.retained) + ')');
      if (i === all.length - 1) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', function () { zoomTo(n.idx, true); });
      li.appendChild(b);
      crumbs.appendChild(li);
    });
    // The same blocks as a table (text alternative): the children, "N more", the own size; the Retained
    // column adds up to the zoomed block's retained size.
    var t = el('table', { 'class': 'data' });
    var head = el('tr');
    ['Object', 'Id', 'Constructor', 'Shallow size', 'Retained size', '%'].forEach(function (h, i) {
      head.appendChild(el('th', { scope: 'col', 'class': i > 2 ? 'num' : '' }, h));
    });
    t.appendChild(el('thead')).appendChild(head);
    var body = t.appendChild(el('tbody'));
    items(z).forEach(function (it) {
      var k = it.node;
      var cells = k ? [label(k), '@' + k.id, k.cls, humanSize(k.self)]
        : it.more ? [blockText(it), '', '', ''] : ['own size of ' + label(z), '@' + z.id, z.cls, humanSize(z.self)];
      cells.push(humanSize(it.bytes), percent(it.bytes, total));
      var tr = el('tr');
      cells.forEach(function (c, i) { tr.appendChild(el('td', { 'class': i > 2 ? 'num' : '' }, c)); });
      tr.cells[4].setAttribute('data-v', it.bytes);
      // A child with contents zooms from its row too: blocks too small to draw (under MIN px) are reached here.
      if (k && (k.kids.length || k.moreCount)) {
        var b = el('button', { type: 'button', 'data-idx': k.idx }, label(k));
        tr.cells[0].textContent = '';
        tr.cells[0].appendChild(b);
      }
      body.appendChild(tr);
    });
    treeTable.textContent = '';
    treeTable.appendChild(t);
  }

  function zoomTo(idx, focus) {
    zoom = idx;
    hideTip();
    render();
    if (focus) {
      var first = view.querySelector('g.level1[tabindex]');
      if (first) first.focus();
    }
  }

  function target(ev) {
    var g = ev.target.closest ? ev.target.closest('g.node') : null;
    return g && view.contains(g) ? g : null;
  }

  function showTip(g, ev) {
    tip.textContent = '';
    var n;
    if (g.hasAttribute('data-more')) {
      var p = nodes[Number(g.getAttribute('data-more'))];
      var c = p.moreCount;
      tip.appendChild(el('strong', {}, '… ' + c + ' more'));
      tip.appendChild(el('div', {}, humanSize(p.moreRetained) + ' retained by ' + c + ' smaller ' +
        (c === 1 ? 'child' : 'children') + ' of ' + label(p) + ', not embedded (--max-nodes)'));
    } else if (g.hasAttribute('data-own')) {
      n = nodes[Number(g.getAttribute('data-own'))];
      tip.appendChild(el('strong', {}, 'Own size of ' + label(n)));
      tip.appendChild(el('div', {}, n.cls + ' · ' + n.type + ' · @' + n.id));
      tip.appendChild(el('div', {}, 'Shallow ' + humanSize(n.self) + ' of ' + humanSize(n.retained) + ' retained'));
    } else {
      n = nodes[Number(g.getAttribute('data-idx'))];
      tip.appendChild(el('strong', {}, label(n)));
      tip.appendChild(el('div', {}, n.cls + ' · ' + n.type + ' · @' + n.id));
      tip.appendChild(el('div', {}, 'Shallow ' + humanSize(n.self) + ' · Retained ' + humanSize(n.retained) + ' (' + percent(n.retained, total) + ')'));
      var path = chain(n).slice(1).map(label).join(' › ');
      tip.appendChild(el('div', { 'class': 'tip-path' }, path));
    }
    tip.hidden = false;
    var box = view.getBoundingClientRect();
    var x = ev && ev.clientX !== undefined ? ev.clientX - box.left + 14 : 10;
    var y = ev && ev.clientY !== undefined ? ev.clientY - box.top + 14 : 10;
    tip.style.left = Math.min(x, Math.max(0, box.width - 340)) + 'px';
    tip.style.top = (view.offsetTop + y) + 'px';
  }
  function hideTip() { tip.hidden = true; }

  view.addEventListener('click', function (ev) {
    var g = target(ev);
    if (!g || !g.classList.contains('zoomable')) return;
    zoomTo(Number(g.getAttribute('data-idx')), false);
  });
  treeTable.addEventListener('click', function (ev) {
    var b = ev.target.closest ? ev.target.closest('button[data-idx]') : null;
    if (b) zoomTo(Number(b.getAttribute('data-idx')), false);
  });
  view.addEventListener('mousemove', function (ev) {
    var g = target(ev);
    if (g) showTip(g, ev); else hideTip();
  });
  view.addEventListener('mouseleave', hideTip);
  view.addEventListener('focusin', function (ev) { var g = target(ev); if (g) showTip(g); });
  view.addEventListener('focusout', hideTip);
  view.addEventListener('keydown', function (ev) {
    var g = target(ev);
    if ((ev.key === 'Enter' || ev.key === ' ') && g && g.classList.contains('zoomable')) {
      ev.preventDefault();
      zoomTo(Number(g.getAttribute('data-idx')), true);
    } else if ((ev.key === 'Escape' || ev.key === 'Backspace') && nodes[zoom].parent >= 0) {
      ev.preventDefault();
      zoomTo(nodes[zoom].parent, true);
    }
  });
  // Redrawn when the width changes (not on every resize event: a taller window needs no new layout).
  var pending = 0, drawnWidth = 0;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      if (view.clientWidth !== drawnWidth) render();
    }, 100);
  });
  // Printing: every collapsed part open, the treemap drawn at the page's width.
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.open = true; });
    render();
  });

  initTables();
  if (nodes.length) render();
})();
