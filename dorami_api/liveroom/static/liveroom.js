// The development live-room page: a plain browser client of the Dorami API, written the way any
// web client should talk to it.
// - HTTP: the HttpOnly auth cookies travel by themselves; every unsafe request echoes the
//   csrf-token cookie in X-CSRF-Token; a 401 refreshes the session once and retries.
// - Socket.IO: the three namespaces (commerce "/", presence "/streaming", "/chat") on one
//   WebSocket, authenticated by the same cookie; each (re)connection joins the open room again.
// - Everything that comes from users or the API is put on the page as text (textContent), never
//   parsed as HTML.
"use strict";

(() => {
  const API = "/api/v1";
  const CSRF_COOKIE = "csrf-token";
  const ACK_TIMEOUT_MS = 8000;
  // Requests that must not trigger a refresh-and-retry when they answer 401.
  const NO_REFRESH = new Set(["/auth/refresh", "/auth/dev-login", "/auth/logout"]);

  const state = {
    user: null,
    stream: null, // the stream whose room is open
    products: new Map(), // id -> newest known product
    cards: new Map(), // id -> card of the product list
    featuredId: null,
    featuredCard: null,
    sockets: null, // {shop, presence, chat}
    chatIds: new Set(),
    auction: null, // the stream's open auction as last heard of (newest version)
    clockOffset: 0, // server time minus this browser's clock, from the last auction payload
  };
  const draining = new Set(); // sockets whose server process announced its shutdown

  // --- page helpers ---------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show(id, visible = true) {
    $(id).hidden = !visible;
  }

  function setStatus(text, isError = false) {
    const status = $("status");
    status.textContent = text || "";
    status.classList.toggle("error", isError);
    status.hidden = !text;
  }

  function describe(error) {
    const fields = error.details && Array.isArray(error.details.fields) ? error.details.fields : [];
    const extra = fields.map((item) => `${item.field}: ${item.message}`).join("; ");
    return extra ? `${error.message} (${extra})` : error.message;
  }

  // Works in every context, also on plain http from another machine (randomUUID needs https).
  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- HTTP -----------------------------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, payload) {
      super((payload && payload.message) || `The server answered ${status}`);
      this.status = status;
      this.code = (payload && payload.errorCode) || `HTTP_${status}`;
      this.details = payload && payload.details;
    }
  }

  function readCookie(name) {
    const prefix = `${name}=`;
    const found = document.cookie.split("; ").find((part) => part.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  async function csrfToken(renew) {
    const known = readCookie(CSRF_COOKIE);
    if (known && !renew) return known;
    const response = await fetch(`${API}/auth/csrf`, { credentials: "same-origin" });
    const payload = await response.json();
    return payload.data.csrfToken;
  }

  async function api(method, path, options = {}) {
    const { body, headers = {}, refreshed = false, renewedCsrf = false } = options;
    const unsafe = method !== "GET";
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (unsafe) init.headers["X-CSRF-Token"] = await csrfToken(renewedCsrf);
    const response = await fetch(API + path, init);
    const payload = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.ok && (payload === null || payload.success)) return payload ? payload.data : null;

    const code = payload && payload.errorCode;
    if (unsafe && !renewedCsrf && (code === "CSRF_TOKEN_INVALID" || code === "CSRF_TOKEN_MISSING")) {
      return api(method, path, { ...options, renewedCsrf: true });
    }
    if (response.status === 401 && !refreshed && !NO_REFRESH.has(path) && (await refreshSession())) {
      return api(method, path, { ...options, refreshed: true });
    }
    throw new ApiFailure(response.status, payload);
  }

  // One refresh at a time: the requests that fail together wait for the same new tokens.
  let refreshing = null;
  function refreshSession() {
    if (!refreshing) {
      refreshing = api("POST", "/auth/refresh")
        .then((data) => {
          state.user = data.user;
          return true;
        })
        .catch(() => false)
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  // --- signing in and out ---------------------------------------------------------------------

  async function start() {
    bindForms();
    try {
      state.user = await api("GET", "/auth/me");
    } catch (error) {
      if (error.status !== 401) setStatus(`Could not reach the API: ${describe(error)}`, true);
      showSignIn();
      return;
    }
    await signedIn();
  }

  function showSignIn() {
    state.user = null;
    show("account", false);
    show("sign-in");
    for (const id of ["streams", "room", "profile", "orders"]) show(id, false);
  }

  async function signIn(event) {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    const email = $("sign-in-email").value.trim();
    const name = $("sign-in-name").value.trim();
    try {
      const data = await api("POST", "/auth/dev-login", { body: name ? { email, name } : { email } });
      state.user = data.user;
    } catch (error) {
      $("sign-in-error").textContent =
        error.status === 404
          ? "Development sign-in is off: start the service with ENABLE_DEV_AUTH=true (bash scripts/run.sh does in development)."
          : describe(error);
      return;
    }
    await signedIn();
  }

  async function signedIn() {
    show("sign-in", false);
    show("account");
    $("account-name").textContent = `${state.user.name} (${state.user.email})`;
    connectSockets();
    await Promise.all([loadStreams(), loadProfile(), loadOrders()]);
  }

  async function signOut() {
    try {
      await api("POST", "/auth/logout");
    } catch (error) {
      // Already signed out on the server (expired or revoked): nothing left to end.
    }
    signedOut("Signed out.");
  }

  function signedOut(message) {
    disconnectSockets();
    leaveRoomLocally();
    showSignIn();
    setStatus(message);
  }

  // --- streams --------------------------------------------------------------------------------

  async function loadStreams() {
    let page;
    try {
      page = await api("GET", "/streaming/streams/active?limit=50");
    } catch (error) {
      setStatus(`Could not load the live streams: ${describe(error)}`, true);
      return;
    }
    const list = $("stream-list");
    list.replaceChildren();
    for (const stream of page.items) {
      const button = element("button", "stream", stream.title);
      button.type = "button";
      button.dataset.streamKey = stream.streamKey;
      button.append(element("span", "muted", ` · ${stream.host.name}`));
      button.addEventListener("click", () => enterRoom(stream));
      const item = element("li");
      item.append(button);
      list.append(item);
    }
    show("streams");
    show("no-streams", page.items.length === 0);
    const wanted = new URLSearchParams(location.hash.slice(1)).get("stream");
    const linked = page.items.find((stream) => stream.streamKey === wanted);
    if (linked) enterRoom(linked);
  }

  async function enterRoom(stream) {
    if (state.stream && state.stream.id === stream.id) return;
    leaveRoom();
    state.stream = stream;
    history.replaceState(null, "", `#stream=${encodeURIComponent(stream.streamKey)}`);
    $("room-title").textContent = stream.title;
    $("viewer-count").textContent = String(stream.viewerCount || 0);
    show("room-ended", false);
    setChatOpen(false); // until the room is joined: a message sent before would be refused
    $("chat-messages").replaceChildren();
    $("purchases").replaceChildren();
    show("room");
    for (const button of document.querySelectorAll("#stream-list button")) {
      button.classList.toggle("current", button.dataset.streamKey === stream.streamKey);
    }
    const sockets = state.sockets;
    if (sockets) {
      if (sockets.shop.connected) joinCommerce();
      if (sockets.presence.connected) joinPresence();
      if (sockets.chat.connected) joinChat();
    }
    try {
      const detail = await api("GET", `/streaming/streams/${stream.id}`);
      if (state.stream === stream) showFeatured(detail.featuredProduct);
    } catch (error) {
      setStatus(`Could not load the stream: ${describe(error)}`, true);
    }
  }

  function leaveRoom() {
    const stream = state.stream;
    if (stream && state.sockets) {
      state.sockets.shop.emit("leave:stream", { streamId: stream.streamKey });
      state.sockets.presence.emit("stream:viewer:leave", { streamKey: stream.streamKey });
      state.sockets.chat.emit("chat:leave-room", { liveId: stream.streamKey });
    }
    leaveRoomLocally();
  }

  function leaveRoomLocally() {
    state.stream = null;
    state.auction = null;
    renderAuction();
    state.products.clear();
    state.cards.clear();
    state.chatIds.clear();
    state.featuredId = null;
    state.featuredCard = null;
    $("products").replaceChildren();
    $("featured-card").replaceChildren();
    show("featured", false);
    show("room", false);
  }

  function inRoom(streamKey) {
    return Boolean(state.stream) && state.stream.streamKey === streamKey;
  }

  // --- sockets --------------------------------------------------------------------------------

  function connectSockets() {
    if (state.sockets) return;
    if (typeof io !== "function") {
      setStatus("The Socket.IO client is not installed: run `bash scripts/page-assets.sh`, then reload.", true);
      return;
    }
    // WebSocket only: a polling session cannot follow its requests across several server workers.
    const options = { transports: ["websocket"], withCredentials: true };
    const sockets = { shop: io("/", options), presence: io("/streaming", options), chat: io("/chat", options) };
    state.sockets = sockets;
    for (const socket of Object.values(sockets)) {
      socket.on("connect_error", (error) => onConnectError(socket, error));
      socket.on("session:revoked", () => signedOut("Your session was ended; sign in again."));
      socket.on("stream:ended", (event) => onStreamEnded(event.data));
      // A draining server process says so, then closes the socket; the client does not come back
      // by itself after a close the server asked for, so this page does (to another process).
      socket.on("server:shutdown", () => draining.add(socket));
      socket.on("disconnect", (reason) => {
        if (reason === "io server disconnect" && draining.delete(socket) && state.sockets) socket.connect();
      });
    }
    sockets.shop.on("connect", joinCommerce);
    sockets.presence.on("connect", joinPresence);
    sockets.chat.on("connect", joinChat);

    for (const name of ["live:product:added", "live:product:updated", "live:product:soldout"]) {
      sockets.shop.on(name, (event) => upsertProduct(event.data));
    }
    sockets.shop.on("live:product:deleted", (event) => removeProduct(event.data));
    sockets.shop.on("stream:featured-product:updated", (event) => {
      if (inRoom(event.data.streamKey)) showFeatured(event.data.product);
    });
    sockets.shop.on("order:purchase:notification", (event) => showPurchase(event.data));
    sockets.shop.on("order:updated", () => loadOrders());
    for (const name of ["auction:started", "auction:updated", "auction:ended"]) {
      sockets.shop.on(name, (event) => showAuction(event.data));
    }
    sockets.shop.on("auction:outbid", (event) => auctionNote(event.data.auctionId, "You were outbid."));
    sockets.shop.on("auction:won", (event) => {
      auctionNote(event.data.auctionId, `You won! Order ${event.data.orderId} awaits your payment.`);
      loadOrders();
    });
    sockets.presence.on("stream:viewer:update", (event) => {
      if (inRoom(event.data.streamKey)) $("viewer-count").textContent = String(event.data.viewerCount);
    });
    sockets.chat.on("chat:history", (event) => {
      if (!inRoom(event.data.liveId)) return;
      $("chat-messages").replaceChildren();
      state.chatIds.clear();
      event.data.messages.forEach(showChatMessage);
    });
    sockets.chat.on("chat:message", (event) => showChatMessage(event.data));
    sockets.chat.on("chat:message-deleted", (event) => {
      const item = document.querySelector(`#chat-messages [data-message-id="${CSS.escape(event.data.messageId)}"]`);
      if (item) item.remove();
    });
  }

  function disconnectSockets() {
    if (!state.sockets) return;
    Object.values(state.sockets).forEach((socket) => socket.disconnect());
    state.sockets = null;
  }

  // A refused connection is not retried by the client: an expired access token is renewed and
  // the sockets reconnect (a new handshake, which carries the new cookie).
  let reconnecting = null;
  function onConnectError(socket, error) {
    if (socket.active) return; // a network failure: the client retries by itself
    const code = error && error.message;
    if (code !== "TOKEN_EXPIRED" && code !== "UNAUTHORIZED") {
      setStatus(`Realtime connection refused: ${code}`, true);
      return;
    }
    if (reconnecting) return;
    reconnecting = refreshSession().then((renewed) => {
      if (!renewed) {
        signedOut("Your session has expired; sign in again.");
      } else if (state.sockets) {
        const sockets = Object.values(state.sockets);
        sockets.forEach((each) => each.disconnect());
        sockets.forEach((each) => each.connect());
      }
      reconnecting = null;
    });
  }

  async function ask(socket, event, payload) {
    try {
      return await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch (error) {
      return { success: false, errorCode: "TIMEOUT", message: `No answer to ${event}` };
    }
  }

  async function joinCommerce() {
    const stream = state.stream;
    if (!stream || !state.sockets) return;
    const answer = await ask(state.sockets.shop, "join:stream", { streamId: stream.streamKey });
    if (!answer.success) {
      setStatus(`Could not join the stream: ${answer.message}`, true);
      return;
    }
    // Joined first, read second: no change can fall between the list and the first broadcast.
    await loadProducts(stream);
    await loadAuction(stream);
  }

  // --- auctions -------------------------------------------------------------------------------
  // The countdown uses the server's clock: endsAt - serverTime, from when the payload arrived,
  // whatever this browser's clock says.

  async function loadAuction(stream) {
    try {
      const auctions = await api("GET", `/streaming/streams/${encodeURIComponent(stream.id)}/auctions`);
      const open = auctions.find((a) => a.status === "RUNNING" || a.status === "SCHEDULED");
      if (open && inRoom(stream.streamKey)) showAuction({ ...open, auctionId: open.id });
    } catch (error) {
      setStatus(`Could not load the auction: ${describe(error)}`, true);
    }
  }

  function showAuction(data) {
    const known = state.auction;
    if (known && known.auctionId === data.auctionId && data.version <= known.version) return; // stale
    state.auction = { ...(known && known.auctionId === data.auctionId ? known : {}), ...data };
    if (data.serverTime) state.clockOffset = Date.parse(data.serverTime) - Date.now();
    renderAuction();
  }

  function renderAuction() {
    const auction = state.auction;
    const panel = $("auction");
    panel.hidden = !auction;
    if (!auction) return;
    panel.replaceChildren();
    panel.className = "auction";
    panel.dataset.auctionId = auction.auctionId;
    const ended = auction.status === "ENDED" || auction.status === "CANCELLED";
    panel.append(element("h3", null, `Auction${auction.productName ? `: ${auction.productName}` : ""}`));
    const price = ended ? auction.finalPrice : auction.currentPrice;
    panel.append(element("p", "auction-price", price ? `$${price}` : `Starts at $${auction.minimumBid ?? auction.startingPrice}`));
    const who = ended ? auction.winner : auction.leader;
    panel.append(element("p", "auction-leader", who ? `${ended ? "Won by" : "Leading"}: ${who.displayName}` : "No bid yet"));
    panel.append(element("p", "auction-clock", ended ? auction.status === "CANCELLED" ? "Cancelled" : "Ended" : remainingText()));
    if (auction.status === "RUNNING") {
      const button = element("button", "auction-bid", `Bid $${auction.minimumBid}`);
      button.type = "button";
      button.addEventListener("click", () => placeBid(auction.auctionId, auction.minimumBid));
      panel.append(button);
    }
    panel.append(element("p", "auction-note", auction.note || ""));
  }

  function remainingText() {
    const auction = state.auction;
    if (!auction || !auction.endsAt) return "Not started";
    const left = Math.max(0, Date.parse(auction.endsAt) - (Date.now() + state.clockOffset));
    return `${Math.ceil(left / 1000)} s left`;
  }

  setInterval(() => {
    const clock = document.querySelector("#auction .auction-clock");
    if (clock && state.auction && state.auction.status === "RUNNING") clock.textContent = remainingText();
  }, 250);

  function auctionNote(auctionId, text) {
    if (!state.auction || state.auction.auctionId !== auctionId) return;
    state.auction.note = text;
    renderAuction();
  }

  async function placeBid(auctionId, amount) {
    const bidId = `page-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
    const answer = await ask(state.sockets.shop, "auction:bid", { auctionId, amount, bidId });
    if (answer.success) auctionNote(auctionId, answer.data.leading ? "You lead." : "Outbid at once by a proxy bid.");
    else auctionNote(auctionId, answer.message || answer.errorCode);
  }

  async function joinPresence() {
    const stream = state.stream;
    if (!stream || !state.sockets) return;
    const answer = await ask(state.sockets.presence, "stream:viewer:join", { streamKey: stream.streamKey });
    if (answer.success && inRoom(stream.streamKey)) $("viewer-count").textContent = String(answer.data.viewerCount);
  }

  async function joinChat() {
    const stream = state.stream;
    if (!stream || !state.sockets) return;
    const answer = await ask(state.sockets.chat, "chat:join-room", { liveId: stream.streamKey });
    if (!inRoom(stream.streamKey)) return;
    $("chat-error").textContent = answer.success ? "" : answer.message;
    setChatOpen(answer.success && $("room-ended").hidden);
  }

  function setChatOpen(open) {
    $("chat-input").disabled = !open;
    $("chat-form").querySelector("button").disabled = !open;
  }

  function onStreamEnded(data) {
    if (!inRoom(data.streamKey)) return;
    show("room-ended");
    setChatOpen(false);
    state.products.forEach((product) => renderProduct(product));
  }

  // --- chat -----------------------------------------------------------------------------------

  function showChatMessage(message) {
    if (!inRoom(message.liveId) || state.chatIds.has(message.id)) return;
    state.chatIds.add(message.id);
    const item = element("li", "message");
    item.dataset.messageId = message.id;
    const mine = state.user && message.userId === state.user.id;
    item.append(element("strong", mine ? "author mine" : "author", message.username), element("span", "text", message.message));
    const list = $("chat-messages");
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  async function sendChat(event) {
    event.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text || !state.stream || !state.sockets) return;
    const answer = await ask(state.sockets.chat, "chat:send-message", {
      liveId: state.stream.streamKey,
      message: text,
      clientMessageId: randomId(),
    });
    if (answer.success) {
      input.value = "";
      $("chat-error").textContent = "";
    } else {
      $("chat-error").textContent = answer.retryAfter
        ? `${answer.message} (try again in ${answer.retryAfter} s)`
        : answer.message;
    }
  }

  // --- products -------------------------------------------------------------------------------

  async function loadProducts(stream) {
    let page;
    try {
      page = await api("GET", `/products?streamId=${encodeURIComponent(stream.id)}&limit=100`);
    } catch (error) {
      setStatus(`Could not load the products: ${describe(error)}`, true);
      return;
    }
    if (state.stream !== stream) return;
    // After a reconnection the list is read again: what went away meanwhile goes from the page
    // too (when the list is whole; a stream with more products than one page keeps the rest).
    if (page.items.length === page.total) {
      const listed = new Set(page.items.map((product) => product.id));
      Array.from(state.products.values())
        .filter((product) => !listed.has(product.id))
        .forEach(removeProduct);
    }
    page.items.forEach(upsertProduct);
    show("no-products", state.products.size === 0);
  }

  function upsertProduct(product) {
    if (!state.stream || product.streamId !== state.stream.id) return;
    const known = state.products.get(product.id);
    if (known && known.version > product.version) return; // an older state arriving late
    state.products.set(product.id, product);
    renderProduct(product);
  }

  function removeProduct(product) {
    if (!state.stream || product.streamId !== state.stream.id) return;
    state.products.delete(product.id);
    const card = state.cards.get(product.id);
    if (card) card.root.remove();
    state.cards.delete(product.id);
    if (state.featuredId === product.id) showFeatured(null);
    show("no-products", state.products.size === 0);
  }

  function renderProduct(product) {
    let card = state.cards.get(product.id);
    if (!card) {
      card = productCard(product);
      state.cards.set(product.id, card);
      insertInOrder(card.root, product);
    }
    updateCard(card, product);
    if (state.featuredId === product.id && state.featuredCard) updateCard(state.featuredCard, product);
    show("no-products", false);
  }

  function insertInOrder(root, product) {
    const list = $("products");
    const after = Array.from(list.children).find((other) => {
      const shown = state.products.get(other.dataset.productId);
      return shown && shown.sortOrder > product.sortOrder;
    });
    list.insertBefore(root, after || null);
  }

  function showFeatured(product) {
    const holder = $("featured-card");
    holder.replaceChildren();
    state.featuredCard = null;
    state.featuredId = product ? product.id : null;
    if (product) {
      const newest = state.products.get(product.id);
      const shown = newest && newest.version >= product.version ? newest : product;
      state.featuredCard = productCard(shown);
      state.featuredCard.root.classList.add("featured");
      holder.append(state.featuredCard.root);
      updateCard(state.featuredCard, shown);
    }
    show("featured", Boolean(product));
  }

  function productCard(product) {
    const card = {
      root: element("article", "card"),
      image: element("img", "picture"),
      name: element("h4", "name"),
      price: element("p", "price"),
      stock: element("p", "stock"),
      variant: element("select", "variant"),
      quantity: element("input", "quantity"),
      buy: element("button", "buy", "Buy now"),
      message: element("p", "card-message"),
      product,
    };
    card.root.dataset.productId = product.id;
    card.image.alt = "";
    card.quantity.type = "number";
    card.quantity.min = "1";
    card.quantity.value = "1";
    card.quantity.setAttribute("aria-label", "Quantity");
    card.variant.setAttribute("aria-label", "Option");
    card.buy.type = "button";
    const actions = element("div", "actions");
    actions.append(card.variant, card.quantity, card.buy);
    card.root.append(card.image, card.name, card.price, card.stock, actions, card.message);
    card.variant.addEventListener("change", () => updateCard(card, card.product));
    card.buy.addEventListener("click", () => buy(card));
    return card;
  }

  function variantText(variant) {
    const label = variant.label || [variant.color, variant.size].filter(Boolean).join(" / ") || "Option";
    return `${label} — ${variant.price} (${variant.available > 0 ? `${variant.available} left` : "sold out"})`;
  }

  function updateCard(card, product) {
    card.product = product;
    const picture = product.imageUrl && /^(https:\/\/|\/)/.test(product.imageUrl) ? product.imageUrl : "";
    card.image.hidden = !picture;
    if (picture && card.image.getAttribute("src") !== picture) card.image.src = picture;
    card.name.textContent = product.name;
    card.price.replaceChildren(element("span", "now", product.price));
    if (product.originalPrice && product.originalPrice !== product.price) {
      card.price.append(" ", element("s", "was", product.originalPrice));
    }

    const variants = product.variants || [];
    const chosen = card.variant.value;
    card.variant.replaceChildren(
      ...variants.map((variant) => {
        const option = element("option", null, variantText(variant));
        option.value = variant.id;
        option.disabled = variant.available <= 0;
        return option;
      }),
    );
    if (variants.some((variant) => variant.id === chosen)) card.variant.value = chosen;
    card.variant.hidden = variants.length === 0;
    const selected = variants.find((variant) => variant.id === card.variant.value);

    const available = selected ? selected.available : product.available;
    const soldOut = product.status === "SOLD_OUT" || product.available <= 0;
    const ended = !$("room-ended").hidden;
    card.root.classList.toggle("sold-out", soldOut);
    card.stock.textContent = soldOut ? "Sold out" : `${available} left`;
    card.stock.classList.toggle("low", !soldOut && available < 5);
    card.quantity.max = String(Math.max(available, 1));
    card.buy.disabled = soldOut || available <= 0 || ended || card.busy === true;
  }

  async function buy(card) {
    const product = card.product;
    const item = { productId: product.id, quantity: Math.max(1, Number.parseInt(card.quantity.value, 10) || 1) };
    if (!card.variant.hidden && card.variant.value) item.variantId = card.variant.value;
    card.busy = true;
    updateCard(card, card.product);
    card.message.textContent = "Placing your order…";
    card.message.classList.remove("error");
    try {
      // One key per click: a retry of this same request (after a token refresh) cannot order twice.
      const order = await api("POST", "/orders/direct", {
        body: { items: [item] },
        headers: { "Idempotency-Key": randomId() },
      });
      card.message.textContent = `Ordered: ${order.id} (${order.total})`;
      await loadOrders();
    } catch (error) {
      card.message.classList.add("error");
      if (error.code === "PROFILE_INCOMPLETE") {
        card.message.textContent = "Complete your profile (below) to buy.";
        openProfile();
      } else {
        card.message.textContent = describe(error);
      }
    } finally {
      card.busy = false;
      updateCard(card, state.products.get(product.id) || card.product);
    }
  }

  function showPurchase(data) {
    if (!inRoom(data.streamKey)) return;
    const list = $("purchases");
    list.prepend(element("li", null, `${data.displayName} bought ${data.productName}`));
    while (list.children.length > 5) list.lastElementChild.remove();
  }

  // --- profile --------------------------------------------------------------------------------

  async function loadProfile() {
    try {
      state.user = await api("GET", "/users/me");
    } catch (error) {
      return;
    }
    if (!state.user.profileComplete) openProfile();
    else show("profile", false);
  }

  function openProfile() {
    const user = state.user || {};
    if (!$("profile-name").value) $("profile-name").value = user.name || "";
    if (!$("profile-depositor").value) $("profile-depositor").value = user.depositorName || "";
    show("profile");
  }

  async function saveProfile(event) {
    event.preventDefault();
    const value = (id) => $(id).value.trim();
    const address = {
      fullName: value("profile-full-name"),
      address1: value("profile-address1"),
      city: value("profile-city"),
      state: value("profile-state").toUpperCase(),
      zip: value("profile-zip"),
    };
    if (value("profile-address2")) address.address2 = value("profile-address2");
    $("profile-error").textContent = "";
    try {
      await api("PATCH", "/users/me", { body: { name: value("profile-name"), depositorName: value("profile-depositor") } });
      await api("PUT", "/users/me/shipping-address", { body: address });
      state.user = await api("GET", "/users/me");
    } catch (error) {
      $("profile-error").textContent = describe(error);
      return;
    }
    $("account-name").textContent = `${state.user.name} (${state.user.email})`;
    show("profile", !state.user.profileComplete);
    setStatus(state.user.profileComplete ? "Profile saved: you can buy now." : "Profile saved.");
  }

  // --- orders ---------------------------------------------------------------------------------

  async function loadOrders() {
    let page;
    try {
      page = await api("GET", "/orders?limit=10");
    } catch (error) {
      return;
    }
    const list = $("order-list");
    list.replaceChildren(...page.items.map(orderItem));
    show("orders");
    show("no-orders", page.items.length === 0);
  }

  function orderItem(order) {
    const item = element("li", "order");
    item.dataset.orderId = order.id;
    const head = element("div", "order-head");
    head.append(element("strong", "order-id", order.id), element("span", "badge", order.status), element("span", "total", order.total));
    const lines = order.items.map((line) => `${line.productName}${line.variantLabel ? ` (${line.variantLabel})` : ""} × ${line.quantity}`);
    item.append(head, element("p", "order-items", lines.join(", ")));
    const transfer = order.bankTransfer;
    if (transfer && transfer.bankName) {
      const to = `${transfer.bankName} ${transfer.accountNumber || ""} (${transfer.accountHolder || ""})`;
      item.append(element("p", "muted", `Pay ${transfer.amount} by bank transfer to ${to}, as ${transfer.depositorName}.`));
    }
    return item;
  }

  // --- start ----------------------------------------------------------------------------------

  function bindForms() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("chat-form").addEventListener("submit", sendChat);
    $("profile-form").addEventListener("submit", saveProfile);
  }

  start();
})();
