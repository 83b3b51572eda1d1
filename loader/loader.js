// EverDesk loader: puts the launcher on the host page and opens the widget in an
// iframe on the widget's own origin. Dependency-free; minified by scripts/build-widget
// (budget 2 KB gz). Host and frame talk by postMessage with exact origins, checked
// both ways; identity travels in messages, never in URLs.
// Size notes: the order of the function declarations, of the CSS rules and
// declarations and of the command table is chosen for the gzipped size; none of it
// matters to behaviour (no CSS declaration overrides another, except the media query,
// which must stay after `.f` and `.l,.f`).
(function (w, d) {
  var api = w.EverDesk;
  if (api && api.loaded) return;

  // Classic scripts, async or injected, run with currentScript set.
  var script = d.currentScript;
  if (!script || !script.src) return;
  var ORIGIN = new URL(script.src).origin;
  var data = script.dataset;
  var config = {
    proxy_url: data.proxyUrl || ORIGIN,
    title: data.title,
    color: data.color,
    theme: data.theme,
    locale: data.locale || navigator.language
  };
  var identity = readIdentity(data);
  var queued = (api && api.q) || [];
  var listeners = {};
  // gone: shutdown was called before the frame could hear it (told right after init).
  var frame, ready, isOpen, gone;
  var labels = ['Open support chat', 'Close support chat'];
  var side = data.position == 'left' ? 'left' : 'right';
  var brand = /^#([\da-f]{3}){1,2}$/i.test(config.color) ? config.color : '#1f5fd1';
  // The icon on the brand colour: white, or near-black #111 (= #111111) when white
  // would miss the WCAG AA contrast of 4.5:1 (a light brand such as #ffd400). Same
  // rule, same arithmetic and same colours as `on_brand` in src/config.rs, so the
  // launcher and the frame agree. `channel` (sRGB → linear) is at the end.
  var hex = brand[4] ? brand : brand.replace(/\w/g, '$&$&'); // #rgb → #rrggbb
  var luminance = .2126 * channel(1) + .7152 * channel(3) + .0722 * channel(5);
  var light = 1.05 / (luminance + .05) < 4.5;

  // Everything lives in a shadow root: host CSS cannot reach in, ours cannot leak out.
  // A constructed sheet is allowed by a strict host CSP (no 'unsafe-inline').
  // The focus ring sits on the host page, outside the button: brand-coloured, or
  // near-black when the brand is light (a light ring would vanish on a light page).
  // The badge keeps white text (the button's colour) on #b3261e; only the icon's
  // fill follows the brand. The badge and the frame are hidden by the UA's
  // [hidden]{display:none}, so never give .b or .f a display.
  var host = d.createElement('everdesk-widget');
  var root = host.attachShadow({ mode: 'open' });
  var sheet = new CSSStyleSheet();
  sheet.replaceSync(
    ':host{all:initial}.l:focus-visible{outline-offset:3px;outline:3px solid ' + (light ? '#111' : brand) + '}' +
    '.l,.f{position:fixed;z-index:2147483000;' + side + ':20px;border:0}' +
    '.l{width:56px;border-radius:50%;height:56px;bottom:20px;background:' + brand + ';display:grid;' +
    'box-shadow:0 4px 14px #0004;color:#fff;cursor:pointer;place-items:center;padding:0}' +
    '.f{width:400px;border-radius:12px;bottom:88px;height:min(640px,100dvh - 108px);box-shadow:0 8px 30px #0005}' +
    '@media(max-width:480px){.f{inset:0;width:100%;height:100dvh;border-radius:0}}' +
    '.b{position:absolute;padding:0 5px;border-radius:10px;background:#b3261e;' + side + ':-2px;top:-2px;' +
    'min-width:20px;font:600 12px/20px sans-serif}'
  );
  root.adoptedStyleSheets = [sheet];
  // Unquoted attributes, the icon's height left to its viewBox (28 × 28) and
  // </span></button> left to the parser: same DOM and rendering, fewer bytes.
  root.innerHTML = '<button class=l aria-haspopup=dialog><svg viewBox=0,0,24,24 width=28 aria-hidden=true>' +
    '<path d=M3,4h18v13H9l-6,4z fill=' + (light ? '#111' : '#fff') + ' /></svg><span class=b hidden>';
  var launcher = root.firstChild;
  var badge = launcher.lastChild;

  function emit(name, detail) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { console.error(e); }
    });
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
  function open() {
    ensureFrame();
    if (isOpen) return;
    frame.hidden = false;
    isOpen = true;
    label();
    if (ready) { frame.focus(); post({ type: 'opened' }); }
    emit('open');
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

  // Browsers that block third-party storage leave the frame without any: it then
  // keeps its `everdesk:` keys in this page's first-party storage through us
  // (snapshot() is at the end).
  var ours = /^everdesk:/;
  function hostStore(key, value) {
    try {
      if (ours.test(key)) localStorage[value == null ? 'removeItem' : 'setItem'](key, value);
    } catch (e) { /* blocked here too: the frame keeps working in memory */ }
  }
  w.addEventListener('storage', function (e) {
    if (ours.test(e.key)) post({ type: 'stored', key: e.key, value: e.newValue });
  });

  w.addEventListener('message', function (e) {
    if (!frame || e.origin !== ORIGIN || e.source !== frame.contentWindow || typeof e.data != 'string') return;
    // Not JSON, or `null`: ignored.
    try { var m = JSON.parse(e.data), t = m.type; } catch (err) { return; }
    if (t == 'ready') {
      ready = 1;
      post({ type: 'init', config: config, identity: identity, store: snapshot() });
      if (gone) post({ type: 'shutdown' });
      if (isOpen) { frame.focus(); post({ type: 'opened' }); }
    } else if (t == 'close') close();
    else if (t == 'store') hostStore(m.key, m.value);
    else if (t == 'labels') { labels = [m.open, m.close]; frame.title = m.title; label(); }
    else if (t == 'unread') { badge.textContent = m.count; badge.hidden = !m.count; label(); }
    if (/^(ready|message|unread|escalated|error)$/.test(t)) emit(t, m);
  });

  launcher.onclick = toggle;
  launcher.onpointerenter = launcher.onfocus = ensureFrame;

  var commands = {
    setLocale: function (tag) { config.locale = tag; post({ type: 'set_locale', locale: tag }); },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    toggle: toggle,
    identify: function (o) { identity = readIdentity(o || {}); if (identity) { gone = 0; post({ type: 'identify', identity: identity }); } },
    off: function (name, fn) { listeners[name] = (listeners[name] || []).filter(function (f) { return f != fn; }); },
    open: open,
    close: close,
    shutdown: function () { identity = undefined; gone = 1; post({ type: 'shutdown' }); close(); }
  };
  // No command takes more than two arguments.
  api = w.EverDesk = function (cmd, a, b) {
    var fn = commands[cmd];
    return fn && fn(a, b);
  };
  api.loaded = 1;

  function start() {
    d.body.append(host);
    label();
    queued.forEach(function (args) { api.apply(null, args); });
    if (data.open == 'true') open();
    // Preload the frame once the page is idle (Safari has no requestIdleCallback).
    var idle = function () { w.requestIdleCallback ? requestIdleCallback(ensureFrame) : setTimeout(ensureFrame, 2e3); };
    d.readyState == 'complete' ? idle() : w.addEventListener('load', idle);
  }
  d.body ? start() : d.addEventListener('DOMContentLoaded', start);

  function label() {
    launcher.setAttribute('aria-expanded', !!isOpen);
    var n = +badge.textContent;
    launcher.setAttribute('aria-label', labels[isOpen ? 1 : 0] + (n ? ' (' + n + ')' : ''));
  }
  function snapshot() {
    var all = {};
    try { for (var k in localStorage) if (ours.test(k)) all[k] = localStorage[k]; } catch (e) { }
    return all;
  }
  function post(msg) {
    if (ready) frame.contentWindow.postMessage(JSON.stringify(msg), ORIGIN);
  }
  // Identity from the snippet: HMAC (user id + hash) or a JWT. Absent → visitor.
  // identify() takes the same fields, camel-cased like dataset: {userId, userHash} or {userJwt}.
  function readIdentity(o) {
    return o.userJwt ? { jwt: o.userJwt }
      : o.userId ? { user_id: o.userId, user_hash: o.userHash }
      : undefined;
  }
  // One channel of `hex` (at 1, 3 or 5) as linear light, as in src/config.rs.
  function channel(i) {
    var c = ('0x' + hex.substr(i, 2)) / 255;
    return c <= .04045 ? c / 12.92 : ((c + .055) / 1.055) ** 2.4;
  }
})(window, document);
