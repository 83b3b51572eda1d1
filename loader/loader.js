/*! EverDesk loader: puts the launcher on the host page and opens the widget in an
 * iframe on the widget's own origin. Dependency-free; minified by scripts/build-widget.
 * Host and frame talk by postMessage with exact origins, checked both ways. */
(function (w, d) {
  'use strict';
  if (w.EverDesk && w.EverDesk.loaded) return;

  var script = d.currentScript || d.querySelector('script[data-proxy-url]');
  if (!script || !script.src) return;
  var ORIGIN = new URL(script.src, d.baseURI).origin;
  var data = script.dataset;
  var config = {
    proxy_url: data.proxyUrl || ORIGIN,
    title: data.title,
    color: data.color,
    theme: data.theme,
    locale: data.locale || (navigator.language || 'en')
  };
  var right = data.position !== 'left';
  var queued = (w.EverDesk && w.EverDesk.q) || [];
  var listeners = {};
  var frame, frameReady = false, isOpen = false;

  // Everything lives in a shadow root: host CSS cannot reach in, ours cannot leak out.
  // Styles are a constructed sheet, which a strict host CSP (no 'unsafe-inline') allows.
  var mount = d.createElement('everdesk-widget');
  var root = mount.attachShadow({ mode: 'open' });
  var sheet = new CSSStyleSheet();
  var side = right ? 'right' : 'left';
  var brand = /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(config.color || '') ? config.color : '#1f5fd1';
  sheet.replaceSync(
    ':host{all:initial}' +
    '.l{position:fixed;bottom:20px;' + side + ':20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;' +
    'background:' + brand + ';color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center;padding:0}' +
    '.l:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px ' + brand + '}' +
    '.b{position:absolute;top:-2px;' + side + ':-2px;min-width:20px;height:20px;border-radius:10px;background:#b3261e;color:#fff;' +
    'font:600 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px}' +
    '.b[hidden],.f[hidden]{display:none}' +
    '.f{position:fixed;bottom:88px;' + side + ':20px;z-index:2147483000;width:400px;height:min(640px,calc(100dvh - 108px));' +
    'border:0;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;color-scheme:normal}' +
    '@media (max-width:480px){.f{inset:0;width:100%;height:100dvh;border-radius:0}}'
  );
  root.adoptedStyleSheets = [sheet];

  var launcher = d.createElement('button');
  launcher.type = 'button';
  launcher.className = 'l';
  launcher.setAttribute('aria-label', 'Open support chat');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-haspopup', 'dialog');
  var svg = d.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '28');
  svg.setAttribute('aria-hidden', 'true');
  var path = d.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
  svg.appendChild(path);
  var badge = d.createElement('span');
  badge.className = 'b';
  badge.hidden = true;
  launcher.append(svg, badge);
  root.appendChild(launcher);

  function emit(name, detail) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function post(msg) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(JSON.stringify(msg), ORIGIN);
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
    root.appendChild(frame);
  }

  function open() {
    ensureFrame();
    if (isOpen) return;
    isOpen = true;
    frame.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', 'Close support chat');
    if (frameReady) { frame.focus(); post({ type: 'opened' }); }
    emit('open');
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    frame.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', 'Open support chat');
    post({ type: 'closed' });
    launcher.focus();
    emit('close');
  }

  w.addEventListener('message', function (e) {
    if (!frame || e.origin !== ORIGIN || e.source !== frame.contentWindow || typeof e.data !== 'string') return;
    var msg;
    try { msg = JSON.parse(e.data); } catch (err) { return; }
    switch (msg && msg.type) {
      case 'ready':
        frameReady = true;
        post({ type: 'init', config: config });
        if (isOpen) { frame.focus(); post({ type: 'opened' }); }
        emit('ready');
        break;
      case 'close':
        close();
        break;
    }
  });

  launcher.addEventListener('click', function () { isOpen ? close() : open(); });
  launcher.addEventListener('pointerenter', ensureFrame, { once: true });
  launcher.addEventListener('focus', ensureFrame, { once: true });

  var commands = {
    open: open,
    close: close,
    toggle: function () { isOpen ? close() : open(); },
    on: function (name, fn) { if (typeof fn === 'function') (listeners[name] = listeners[name] || []).push(fn); },
    off: function (name, fn) { listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; }); }
  };

  function api(cmd) {
    var fn = commands[cmd];
    if (!fn) { console.warn('EverDesk: unknown command', cmd); return; }
    return fn.apply(null, [].slice.call(arguments, 1));
  }
  api.loaded = true;
  w.EverDesk = api;

  function start() {
    d.body.appendChild(mount);
    queued.forEach(function (args) { api.apply(null, args); });
    if (data.open === 'true') open();
    var idle = function () {
      (w.requestIdleCallback || function (fn) { setTimeout(fn, 2000); })(ensureFrame, { timeout: 5000 });
    };
    d.readyState === 'complete' ? idle() : w.addEventListener('load', idle);
  }
  d.body ? start() : d.addEventListener('DOMContentLoaded', start);
})(window, document);
