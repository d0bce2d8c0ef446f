// The event WebSocket (/api/v1/events) with automatic reconnection. The banner at the top of
// every page says plainly when the server cannot be reached; it goes away once a socket is open
// again, and the page resynchronises (onOpen runs again).

export class EventSocket {
  // url(): the URL to open (called at every connect, so it can carry resume positions).
  constructor({ url, onMessage, onOpen, onStatus }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onOpen = onOpen || (() => {});
    this.onStatus = onStatus || showBanner;
    this.delay = 500;
    this.ws = null;
    this.stopped = false;
    this.connect();
    // Keeps the connection (and an agent's presence lease) alive through idle proxies.
    this.pinger = setInterval(() => this.send({ type: 'ping' }), 25000);
  }

  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}${this.url()}`);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.delay = 500;
      this.onStatus(true);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'hello') this.onOpen(msg);
      if (msg.type === 'error' && msg.error && msg.error.code === 'unauthorized') {
        this.stopped = true;
        location.href = '/?next=' + encodeURIComponent(location.pathname + location.search);
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.stopped) return;
      this.onStatus(false);
      // Back off up to 5 s; the first retry is quick so a server restart is barely noticed.
      setTimeout(() => this.connect(), opened ? 300 : this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  close() {
    this.stopped = true;
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
  }
}

export function showBanner(online) {
  const b = document.getElementById('banner');
  if (!b) return;
  b.hidden = online;
  b.textContent = online ? '' : 'The server cannot be reached. Reconnecting…';
  document.body.dataset.online = online ? 'yes' : 'no';
}
