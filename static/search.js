// Search as you type on /annuaire (progressive enhancement: without this script the form is
// submitted as usual). On input, after a short pause, fetches the results region of the same
// search (?fragment=1), swaps it in, puts the search in the address bar and announces the
// count in the page's live region. A newer keystroke aborts the request in flight.
(function () {
  'use strict';
  var form = document.querySelector('form[data-live-search]');
  var region = document.getElementById('search-results');
  var status = document.getElementById('search-status');
  if (!form || !region || !status || !window.fetch || !window.AbortController || !window.URLSearchParams
      || !window.history || !window.history.replaceState) {
    return;
  }
  var DELAY_MS = 150;
  var timer = null;
  var inFlight = null;

  function params() {
    var p = new URLSearchParams();
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (!f.name || f.disabled) { continue; }
      // An unticked box is not sent, as the browser's own submission does not send it.
      if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) { continue; }
      var v = String(f.value || '').trim();
      if (v !== '') { p.append(f.name, v); }
    }
    return p;
  }

  function refresh() {
    var p = params();
    var shown = '/annuaire' + (p.toString() ? '?' + p.toString() : '');
    p.append('fragment', '1');
    if (inFlight) { inFlight.abort(); }
    var controller = new AbortController();
    inFlight = controller;
    region.setAttribute('aria-busy', 'true');
    fetch('/annuaire?' + p.toString(), {
      signal: controller.signal,
      credentials: 'same-origin',
      headers: { 'Accept': 'text/html' }
    }).then(function (res) {
      if (!res.ok) { throw new Error('HTTP ' + res.status); }
      return res.text();
    }).then(function (html) {
      if (inFlight !== controller) { return; }
      inFlight = null;
      // The fragment comes from this origin's own templates, escaped by them.
      region.innerHTML = html;
      region.removeAttribute('aria-busy');
      window.history.replaceState(null, '', shown);
      var said = region.querySelector('[data-status]');
      status.textContent = said ? said.getAttribute('data-status') : '';
    }).catch(function (err) {
      if (err && err.name === 'AbortError') { return; }
      // Offline or refused (too many requests…): the form still works with its button.
      region.removeAttribute('aria-busy');
      inFlight = null;
    });
  }

  form.addEventListener('input', function () {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(refresh, DELAY_MS);
  });
})();
