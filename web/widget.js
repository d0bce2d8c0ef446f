/* Homeline chat widget. A company pastes one tag into its site:
 *   <script src="https://homeline.example/widget.js" data-tenant="acme" async></script>
 * (optional: data-queue="9", data-title="Chat with us"). The site's origin must be in the
 * tenant's allowed origins (Admin → Company).
 *
 * It runs on the company's page, so it keeps to itself: one element with a shadow root (its
 * styles cannot leak in or out), no globals, no cookies. The visitor's chat id and token are
 * kept in sessionStorage of the site's origin, so a reload or a dropped connection resumes the
 * same conversation: the socket reopens with since = the last message this page holds (none
 * after a reload: the whole transcript comes again) and unacknowledged messages are resent with
 * their client_id (the server stores each once).
 */
(function () {
  'use strict';
  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-tenant]');
  if (!script || window.__homelineWidget) return;
  window.__homelineWidget = true;
  var BASE = new URL(script.src, location.href).origin;
  var TENANT = script.getAttribute('data-tenant');
  var QUEUE = script.getAttribute('data-queue');
  var TITLE = script.getAttribute('data-title') || 'Chat with us';
  var KEY = 'homeline-chat:' + BASE + ':' + TENANT;
  var API = BASE + '/api/v1/public';

  var CSS = [
    ':host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;',
    '  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2430; }',
    '* { box-sizing: border-box; font: inherit; }',
    '.launcher { background: #2451c4; color: #fff; border: 0; border-radius: 999px; padding: 12px 20px;',
    '  font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(16,24,40,.25); }',
    '.panel { width: 340px; max-width: calc(100vw - 40px); height: 500px; max-height: calc(100vh - 40px);',
    '  background: #fff; border-radius: 14px; box-shadow: 0 10px 40px rgba(16,24,40,.25); display: flex;',
    '  flex-direction: column; overflow: hidden; border: 1px solid #dfe3ea; }',
    '.head { background: #2451c4; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }',
    '.head h2 { margin: 0; font-size: 16px; font-weight: 600; flex: 1; }',
    '.head button { background: transparent; border: 0; color: #fff; font-size: 20px; cursor: pointer; line-height: 1; }',
    '.head button.leave { font-size: 13px; border: 1px solid rgba(255,255,255,.6); border-radius: 6px; padding: 3px 8px; }',
    '.status { padding: 8px 14px; font-size: 13px; color: #4f5b6b; background: #f5f6f8; border-bottom: 1px solid #dfe3ea; min-height: 20px; }',
    '.status.offline { background: #fde8e6; color: #b42318; }',
    '.body { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 6px; }',
    'form { display: flex; flex-direction: column; gap: 4px; }',
    'label { font-size: 13px; color: #4f5b6b; margin-top: 6px; }',
    'input, textarea { border: 1px solid #c5ccd6; border-radius: 8px; padding: 8px 10px; width: 100%; }',
    'textarea { resize: none; }',
    'button.primary { background: #2451c4; color: #fff; border: 0; border-radius: 8px; padding: 9px 14px; font-weight: 600; cursor: pointer; margin-top: 8px; }',
    'button:disabled { opacity: .6; cursor: default; }',
    ':focus-visible { outline: 3px solid #7aa2ff; outline-offset: 2px; }',
    '.msg { max-width: 85%; padding: 7px 11px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; background: #f0f2f5; align-self: flex-start; }',
    '.msg.visitor { background: #2451c4; color: #fff; align-self: flex-end; }',
    '.msg.system { background: transparent; color: #4f5b6b; font-size: 13px; align-self: center; }',
    '.msg.pending { opacity: .6; }',
    '.who { font-size: 12px; color: #4f5b6b; margin-top: 4px; }',
    '.typing { padding: 0 14px; font-size: 13px; color: #4f5b6b; min-height: 18px; }',
    '.compose { display: flex; flex-direction: row; gap: 6px; padding: 10px 14px; border-top: 1px solid #dfe3ea; }',
    '.compose textarea { flex: 1; height: 40px; }',
    '.compose button { margin-top: 0; }',
    '.error { color: #b42318; font-size: 13px; min-height: 18px; }',
    '.note { color: #4f5b6b; }',
    '.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }',
    '[hidden] { display: none !important; }'
  ].join('\n');

  // ---- elements (text only, never innerHTML: nothing a visitor or agent types becomes markup)
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  var host = el('div', { id: 'homeline-chat' });
  var root = host.attachShadow({ mode: 'open' });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];  // not subject to the host page's style-src
  } catch (e) {
    root.appendChild(el('style', { text: CSS }));
  }
  var launcher = el('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'hl-panel', text: TITLE });
  var title = el('h2', { id: 'hl-title', text: TITLE });
  var closeBtn = el('button', { type: 'button', 'aria-label': 'Minimise chat', text: '\u2013' });
  var leaveBtn = el('button', { class: 'leave', type: 'button', hidden: true, text: 'End chat' });
  var status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  var body = el('div', { class: 'body' });
  var typing = el('div', { class: 'typing', 'aria-live': 'polite' });
  var input = el('textarea', { 'aria-label': 'Write a message', placeholder: 'Type a message…', maxlength: '4000' });
  var send = el('button', { class: 'primary', type: 'submit', text: 'Send' });
  var compose = el('form', { class: 'compose', hidden: true }, [input, send]);
  var panel = el('section', { class: 'panel', id: 'hl-panel', role: 'dialog', 'aria-labelledby': 'hl-title', hidden: true },
    [el('div', { class: 'head' }, [title, leaveBtn, closeBtn]), status, body, typing, compose]);
  root.appendChild(launcher);
  root.appendChild(panel);

  // ---- state
  var chat = load();          // {id, token} of the current conversation
  var messages = {};          // seq → message
  var pending = (chat && chat.pending) || {};  // client_id → text, until the server echoes it
                                              // (kept with the chat, so a reload resends it)
  var ws = null, wsOpen = false, delay = 500, ended = false, agentTypingUntil = 0, lastTypingSent = 0, counter = 0;

  function load() { try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch (e) { return null; } }
  function save() {
    try {
      if (chat) chat.pending = pending;
      chat ? sessionStorage.setItem(KEY, JSON.stringify(chat)) : sessionStorage.removeItem(KEY);
    } catch (e) { /* private mode: the chat lasts as long as the page */ }
  }

  function request(method, path, data, token) {
    var headers = {};
    if (data !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(API + path, { method: method, headers: headers, body: data === undefined ? undefined : JSON.stringify(data), mode: 'cors', credentials: 'omit' })
      .then(function (r) {
        return r.text().then(function (t) {
          var j = null;
          try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
          if (!r.ok) {
            var err = new Error((j && j.error && j.error.message) || ('HTTP ' + r.status));
            err.code = j && j.error && j.error.code;
            err.status = r.status;
            throw err;
          }
          return j;
        });
      });
  }

  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    if (chat) resume(); else start();
  }
  function minimise() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  launcher.addEventListener('click', open);
  leaveBtn.addEventListener('click', function () {
    if (!chat) return;
    request('POST', '/chats/' + chat.id + '/close', {}, chat.token)
      .then(function (st) { showState(st); })
      .catch(function (e) { setStatus(e.message, true); });
  });
  closeBtn.addEventListener('click', minimise);
  panel.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') minimise(); });

  function setStatus(text, offline) {
    status.textContent = text || '';
    status.className = 'status' + (offline ? ' offline' : '');
  }

  // ---- before the chat: the form, or leave-a-message
  function start() {
    compose.hidden = true;
    body.replaceChildren(el('p', { class: 'note', text: 'Connecting…' }));
    setStatus('');
    request('GET', '/tenants/' + encodeURIComponent(TENANT) + '/chat' + (QUEUE ? '?queue=' + encodeURIComponent(QUEUE) : ''))
      .then(function (s) {
        title.textContent = s.tenant && s.tenant.name ? s.tenant.name : TITLE;
        if (s.available) startForm(s); else leaveMessageForm(s.open ? 'Nobody is available right now.' : 'We are closed right now.');
      })
      .catch(function (e) {
        body.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'The chat is not available: ' + e.message }));
      });
  }

  function field(label, input) {
    return [el('label', { for: input.id, text: label }), input];
  }

  function startForm(s) {
    var name = el('input', { id: 'hl-name', autocomplete: 'name', required: true, maxlength: '200' });
    var email = el('input', { id: 'hl-email', type: 'email', autocomplete: 'email', maxlength: '200' });
    var text = el('textarea', { id: 'hl-text', rows: '3', required: true, maxlength: '4000' });
    var err = el('p', { class: 'error', role: 'alert' });
    var go = el('button', { class: 'primary', type: 'submit', text: 'Start chat' });
    var wait = s.estimated_wait_s != null ? 'Usual wait: about ' + minutes(s.estimated_wait_s) + '.' : '';
    var form = el('form', { 'aria-label': 'Start a chat' }, [].concat(
      el('p', { class: 'note', text: 'Hello! Tell us who you are and how we can help. ' + wait }),
      field('Your name', name), field('Email (optional)', email), field('Your message', text), err, go));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!name.value.trim() || !text.value.trim()) { err.textContent = 'Please give your name and a message.'; return; }
      go.disabled = true;
      var data = { name: name.value.trim(), text: text.value.trim(), client_id: newClientId() };
      if (email.value.trim()) data.email = email.value.trim();
      if (QUEUE) data.queue = Number(QUEUE);
      request('POST', '/tenants/' + encodeURIComponent(TENANT) + '/chats', data).then(function (r) {
        chat = { id: r.chat.id, token: r.token };
        save();
        messages = {};
        if (r.message) messages[r.message.seq] = r.message;
        resume(r.chat);
      }).catch(function (e) {
        go.disabled = false;
        if (e.code === 'no_agents' || e.code === 'queue_closed') leaveMessageForm('Nobody is available right now.', data);
        else err.textContent = e.message;
      });
    });
    body.replaceChildren(form);
    name.focus();
  }

  function leaveMessageForm(why, prefill) {
    compose.hidden = true;
    prefill = prefill || {};
    var name = el('input', { id: 'hl-lm-name', autocomplete: 'name', required: true, maxlength: '200' });
    var email = el('input', { id: 'hl-lm-email', type: 'email', autocomplete: 'email', required: true, maxlength: '200' });
    var phone = el('input', { id: 'hl-lm-phone', type: 'tel', autocomplete: 'tel', maxlength: '64' });
    var text = el('textarea', { id: 'hl-lm-text', rows: '4', required: true, maxlength: '4000' });
    name.value = prefill.name || ''; email.value = prefill.email || ''; text.value = prefill.text || '';
    var err = el('p', { class: 'error', role: 'alert' });
    var go = el('button', { class: 'primary', type: 'submit', text: 'Send message' });
    var form = el('form', { 'aria-label': 'Leave a message' }, [].concat(
      el('p', { class: 'note', text: why + ' Leave a message and we will answer by email.' }),
      field('Your name', name), field('Email', email), field('Phone (optional)', phone), field('Your message', text), err, go));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!name.value.trim() || !email.value.trim() || !text.value.trim()) { err.textContent = 'Please give your name, email and a message.'; return; }
      go.disabled = true;
      var data = { name: name.value.trim(), email: email.value.trim(), text: text.value.trim() };
      if (phone.value.trim()) data.phone = phone.value.trim();
      if (QUEUE) data.queue = Number(QUEUE);
      request('POST', '/tenants/' + encodeURIComponent(TENANT) + '/messages', data).then(function () {
        body.replaceChildren(el('p', { class: 'note', role: 'status', text: 'Thank you! We have your message and will reply to ' + data.email + '.' }));
      }).catch(function (e) { go.disabled = false; err.textContent = e.message; });
    });
    setStatus('');
    body.replaceChildren(form);
    name.focus();
  }

  // ---- the conversation
  function resume(state) {
    ended = false;
    body.replaceChildren();
    body.setAttribute('role', 'log');
    body.setAttribute('aria-live', 'polite');
    body.setAttribute('aria-label', 'Conversation');
    compose.hidden = false;
    leaveBtn.hidden = false;
    if (state) showState(state);
    if (ended) return;
    render();
    connect();
    input.focus();
  }

  function connect() {
    if (ws) { ws.onclose = null; try { ws.close(); } catch (e) { /* gone */ } }
    // Resume after the last message this page holds (after a reload: none, so all of them).
    var since = Object.keys(messages).reduce(function (m, k) { return Math.max(m, Number(k)); }, 0);
    var url = BASE.replace(/^http/, 'ws') + '/api/v1/public/chats/' + chat.id + '/ws?token=' +
      encodeURIComponent(chat.token) + '&since=' + since;
    var sock = new WebSocket(url);
    ws = sock;
    sock.onopen = function () { wsOpen = true; delay = 500; };
    sock.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(m);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      wsOpen = false;
      if (ended || !chat) return;
      setStatus('Connection lost. Reconnecting…', true);
      setTimeout(function () { if (ws === sock && chat && !ended) connect(); }, delay);
      delay = Math.min(delay * 2, 5000);
    };
  }

  function onFrame(m) {
    if (m.type === 'hello') {
      showState(m.chat);
      // Anything the server has not acknowledged goes again, with the same client_id.
      Object.keys(pending).forEach(function (cid) { ws.send(JSON.stringify({ type: 'message', text: pending[cid], client_id: cid })); });
    } else if (m.type === 'message') {
      var msg = m.message;
      if (msg.client_id && pending[msg.client_id] !== undefined) { delete pending[msg.client_id]; save(); }
      if (!messages[msg.seq]) {
        messages[msg.seq] = msg;
        if (msg.sender === 'agent') agentTypingUntil = 0;
      }
      render();
    } else if (m.type === 'ack') {
      delete pending[m.client_id];
      save();
      render();
    } else if (m.type === 'typing') {
      agentTypingUntil = m.typing ? Date.now() + 6000 : 0;
      showTyping();
    } else if (m.type === 'state') {
      showState(m.chat);
    } else if (m.type === 'error') {
      if (m.client_id) { delete pending[m.client_id]; render(); }
      var code = m.error && m.error.code;
      if (code === 'not_found' || code === 'unauthorized') { finish('This conversation is no longer available.'); return; }
      if (code === 'chat_ended') { finish('The chat has ended.'); return; }
      setStatus(m.error ? m.error.message : 'Something went wrong.', true);
    }
  }

  function minutes(s) {
    var m = Math.max(1, Math.round(s / 60));
    return m === 1 ? '1 minute' : m + ' minutes';
  }

  function showState(s) {
    if (s.state === 'queued' || s.state === 'offered') {
      var text = s.position ? 'You are number ' + s.position + ' in line' : 'Waiting for an agent';
      if (s.estimated_wait_s != null) text += ', about ' + minutes(s.estimated_wait_s);
      setStatus(text + '.');
    } else if (s.state === 'connected') {
      setStatus(s.agent ? 'You are chatting with ' + s.agent.name + '.' : 'Connected.');
    } else {
      finish(s.state === 'abandoned' ? 'You left the chat.' : 'The chat has ended. Thank you!');
    }
  }

  function finish(text) {
    ended = true;
    setStatus(text);
    compose.hidden = true;
    leaveBtn.hidden = true;
    chat = null;
    save();
    if (ws) { try { ws.close(); } catch (e) { /* gone */ } }
    var again = el('button', { class: 'primary', type: 'button', text: 'Start a new chat' });
    again.addEventListener('click', function () { messages = {}; pending = {}; start(); });
    body.appendChild(el('p', { class: 'note', text: text }));
    body.appendChild(again);
  }

  function render() {
    if (ended) return;
    var atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    var seqs = Object.keys(messages).map(Number).sort(function (a, b) { return a - b; });
    var kids = [];
    var lastSender = null;
    seqs.forEach(function (s) {
      var m = messages[s];
      if (m.sender === 'agent' && lastSender !== 'agent' && m.agent) kids.push(el('div', { class: 'who', text: m.agent.name }));
      kids.push(el('div', { class: 'msg ' + m.sender, 'data-seq': String(m.seq), text: m.text }));
      lastSender = m.sender;
    });
    Object.keys(pending).forEach(function (cid) {
      kids.push(el('div', { class: 'msg visitor pending', title: 'Sending…', text: pending[cid] }));
    });
    body.replaceChildren.apply(body, kids);
    if (atBottom || seqs.length < 4) body.scrollTop = body.scrollHeight;
  }

  function showTyping() {
    typing.textContent = agentTypingUntil > Date.now() ? 'The agent is typing…' : '';
  }
  setInterval(showTyping, 1000);

  function newClientId() {
    counter += 1;
    return 'w-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8) + '-' + counter;
  }

  compose.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || !chat) return;
    input.value = '';
    var cid = newClientId();
    pending[cid] = text;
    save();
    render();
    // If the socket is down the message waits in `pending` and goes on the next hello.
    if (wsOpen) ws.send(JSON.stringify({ type: 'message', text: text, client_id: cid }));
  });
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); compose.requestSubmit(); }
  });
  input.addEventListener('input', function () {
    if (!wsOpen || Date.now() - lastTypingSent < 2000) return;
    lastTypingSent = Date.now();
    ws.send(JSON.stringify({ type: 'typing', typing: true }));
  });

  function mount() {
    document.body.appendChild(host);
    if (chat) open();  // a conversation in progress reopens by itself after a reload
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
