// EverDesk loader: puts the launcher on the host page and opens the widget in an
// iframe on the widget's own origin. Dependency-free; minified by scripts/build-widget
// (budget 2 KB gz). Host and frame talk by postMessage with exact origins, checked
// both ways; identity travels in messages, never in URLs.
(function (w, d) {
  var api = w.EverDesk;
  if (api && api.loaded) return;

  // Classic scripts, async or injected, run with currentScript set.
  var script = d.currentScript;
  if (!script || !script.src) return;
  var ORIGIN = new URL(script.src, d.baseURI).origin;
  var data = script.dataset;
  var config = {
    proxy_url: data.proxyUrl || ORIGIN,
    title: data.title,
    color: data.color,
    theme: data.theme,
    locale: data.locale || navigator.language
  };
  var identity;
  var queued = (api && api.q) || [];
  var listeners = {};
  var frame, ready, isOpen;
  var labels = ['Open support chat', 'Close support chat'];
  var side = data.position == 'left' ? 'left' : 'right';
  var brand = /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(config.color) ? config.color : '#1f5fd1';

  // Identity from the snippet: HMAC (user id + hash) or a JWT. Absent → visitor.
  // identify() takes the same fields, camel-cased like dataset: {userId, userHash} or {userJwt}.
  function readIdentity(o) {
    return o.userJwt ? { jwt: o.userJwt }
      : o.userId ? { user_id: o.userId, user_hash: o.userHash }
      : undefined;
  }
  identity = readIdentity(data);

  // Everything lives in a shadow root: host CSS cannot reach in, ours cannot leak out.
  // A constructed sheet is allowed by a strict host CSP (no 'unsafe-inline').
  var host = d.createElement('everdesk-widget');
  var root = host.attachShadow({ mode: 'open' });
  var sheet = new CSSStyleSheet();
  sheet.replaceSync(
    ':host{all:initial}.l,.f{position:fixed;z-index:2147483000;' + side + ':20px;border:0}' +
    '.l{bottom:20px;width:56px;height:56px;border-radius:50%;background:' + brand + ';color:#fff;cursor:pointer;' +
    'box-shadow:0 4px 14px #0004;display:grid;place-items:center;padding:0}' +
    '.l:focus-visible{outline:3px solid ' + brand + ';outline-offset:3px}' +
    '.b{position:absolute;top:-2px;' + side + ':-2px;min-width:20px;border-radius:10px;background:#b3261e;' +
    'font:600 12px/20px sans-serif;padding:0 5px}[hidden]{display:none}' +
    '.f{bottom:88px;width:400px;height:min(640px,calc(100dvh - 108px));border-radius:12px;box-shadow:0 8px 30px #0005}' +
    '@media(max-width:480px){.f{inset:0;width:100%;height:100dvh;border-radius:0}}'
  );
  root.adoptedStyleSheets = [sheet];
  var launcher = d.createElement('button');
  launcher.className = 'l';
  launcher.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" ' +
    'd="M3 4h18v13H9l-6 4z"/></svg><span class="b" hidden></span>';
  var badge = launcher.lastChild;
  launcher.setAttribute('aria-haspopup', 'dialog');
  root.append(launcher);

  function attr(name, value) { launcher.setAttribute(name, value); }
  function label() {
    attr('aria-expanded', !!isOpen);
    var n = +badge.textContent;
    attr('aria-label', labels[isOpen ? 1 : 0] + (n ? ' (' + n + ')' : ''));
  }
  function emit(name, detail) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { console.error(e); }
    });
  }
  function post(msg) {
    if (ready) frame.contentWindow.postMessage(JSON.stringify(msg), ORIGIN);
  }

  // The frame is created on first interaction or when the browser is idle after
  // load: no widget code is fetched before that.
  function ensureFrame() {
    if (frame) return;
    frame = d.createElement('iframe');
    frame.className = 'f';
    frame.hidden = true;
    frame.title = config.title || 'Support chat';
    frame.src = ORIGIN + '/widget/?host=' + encodeURIComponent(location.origin);
    root.append(frame);
  }
  function open() {
    ensureFrame();
    if (isOpen) return;
    frame.hidden = false;
    isOpen = true;
    label();
    if (ready) { frame.focus(); post({ type: 'opened' }); }
    emit('open');
  }
  function close() {
    if (!isOpen) return;
    isOpen = false;
    frame.hidden = true;
    label();
    post({ type: 'closed' });
    launcher.focus();
    emit('close');
  }
  function toggle() { isOpen ? close() : open(); }

  // Browsers that block third-party storage leave the frame without any: it then
  // keeps its `everdesk:` keys in this page's first-party storage through us.
  var ours = /^everdesk:/;
  function hostStore(key, value) {
    try {
      if (!ours.test(key)) return;
      if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value);
    } catch (e) { /* blocked here too: the frame keeps working in memory */ }
  }
  function snapshot() {
    var all = {};
    try { Object.keys(localStorage).forEach(function (k) { if (ours.test(k)) all[k] = localStorage[k]; }); } catch (e) { }
    return all;
  }
  w.addEventListener('storage', function (e) {
    if (ours.test(e.key)) post({ type: 'stored', key: e.key, value: e.newValue });
  });

  w.addEventListener('message', function (e) {
    if (!frame || e.origin !== ORIGIN || e.source !== frame.contentWindow || typeof e.data != 'string') return;
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    var t = m && m.type;
    if (t == 'ready') {
      ready = 1;
      post({ type: 'init', config: config, identity: identity, store: snapshot() });
      if (isOpen) { frame.focus(); post({ type: 'opened' }); }
    } else if (t == 'close') close();
    else if (t == 'store') hostStore(m.key, m.value);
    else if (t == 'labels') { labels = [m.open, m.close]; label(); }
    else if (t == 'unread') { badge.textContent = m.count; badge.hidden = !m.count; label(); }
    if (/^(ready|message|unread|escalated|error)$/.test(t)) emit(t, m);
  });

  launcher.onclick = toggle;
  launcher.addEventListener('pointerenter', ensureFrame);
  launcher.addEventListener('focus', ensureFrame);

  var commands = {
    open: open,
    close: close,
    toggle: toggle,
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    off: function (name, fn) { listeners[name] = (listeners[name] || []).filter(function (f) { return f != fn; }); },
    identify: function (o) { identity = readIdentity(o || {}); if (identity) post({ type: 'identify', identity: identity }); },
    setLocale: function (tag) { config.locale = tag; post({ type: 'set_locale', locale: tag }); },
    shutdown: function () { identity = undefined; post({ type: 'shutdown' }); close(); }
  };
  api = w.EverDesk = function (cmd) {
    var fn = commands[cmd];
    return fn && fn.apply(null, [].slice.call(arguments, 1));
  };
  api.loaded = 1;

  function start() {
    d.body.append(host);
    label();
    queued.forEach(function (args) { api.apply(null, args); });
    if (data.open == 'true') open();
    var idle = function () { (w.requestIdleCallback || setTimeout)(ensureFrame, 2000); };
    d.readyState == 'complete' ? idle() : w.addEventListener('load', idle);
  }
  d.body ? start() : d.addEventListener('DOMContentLoaded', start);
})(window, document);
