"""The live-room page in a real browser (Debian's headless Chromium, driven by Playwright) against a
real gunicorn server with two workers: two people, each in their own browser context (their own
cookies), sign in with dev login and watch the same stream. What one types appears at the other;
an admin's stock change, a sold-out, a new product and the featured product reach both pages
without a reload; a purchase asks for the missing profile, then shows the order it made."""

from __future__ import annotations

import re
import signal
import uuid

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.support.auth import signed_in
from tests.support.browser import chromium

# A bound for every wait on the page; CI machines are slow, nothing here is a timing assertion.
expect.set_options(timeout=20_000)
ORDER_MESSAGE = re.compile(r"^Ordered: (ORD-\d{8}-\d{5}) \(\d+\.\d{2}\)$")


class AdminApi:
    """An admin calling the API over HTTP (a bearer token, as an admin tool would)."""

    def __init__(self, base_url: str, headers: dict) -> None:
        self.base_url = f"{base_url}/api/v1"
        self.headers = headers

    def call(self, method: str, path: str, **body) -> dict:
        response = requests.request(
            method, self.base_url + path, json=body if body else None, headers=self.headers, timeout=15
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["data"]

    def live_stream(self, title: str) -> dict:
        stream = self.call("POST", "/streaming/streams", title=title)
        return self.call("POST", f"/streaming/streams/{stream['id']}/start")

    def product(self, stream: dict, name: str, stock: int, price: str = "12.00") -> dict:
        return self.call("POST", "/products", streamId=stream["id"], name=name, price=price, stock=stock)


class Visitor:
    """One person at the page: their own browser context, one tab, signed in with dev login."""

    def __init__(self, browser: Browser, base_url: str, name: str) -> None:
        self.name = name
        self.email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@dorami.test"
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.goto(f"{base_url}/")
        self.page.fill("#sign-in-email", self.email)
        self.page.fill("#sign-in-name", name)
        self.page.click("#sign-in-form button[type=submit]")
        expect(self.page.locator("#account-name")).to_contain_text(self.email)

    def enter(self, stream: dict) -> None:
        self.page.locator("#stream-list button", has_text=stream["title"]).click()
        expect(self.page.locator("#room-title")).to_have_text(stream["title"])

    def card(self, product: dict):
        return self.page.locator(f'#products .card[data-product-id="{product["id"]}"]')

    def say(self, text: str) -> None:
        self.page.fill("#chat-input", text)
        self.page.click("#chat-form button[type=submit]")

    def message(self, text: str):
        return self.page.locator("#chat-messages .message", has_text=text)

    def complete_profile(self, full_name: str) -> None:
        self.page.fill("#profile-name", full_name)
        self.page.fill("#profile-depositor", full_name.upper())
        self.page.fill("#profile-full-name", full_name)
        self.page.fill("#profile-address1", "1 Market St")
        self.page.fill("#profile-city", "San Francisco")
        self.page.fill("#profile-state", "ca")
        self.page.fill("#profile-zip", "94105")
        self.page.click("#profile-form button[type=submit]")
        expect(self.page.locator("#status")).to_have_text("Profile saved: you can buy now.")
        expect(self.page.locator("#profile")).to_be_hidden()

    def buy(self, product: dict) -> str:
        """Click the card's buy button; the order number the page reports."""
        self.card(product).locator(".buy").click()
        message = self.card(product).locator(".card-message")
        expect(message).to_have_text(ORDER_MESSAGE)
        return ORDER_MESSAGE.match(message.inner_text()).group(1)

    def mark_document(self) -> None:
        """A reload would lose this: checked at the end to prove nothing reloaded."""
        self.page.evaluate("window.__sameDocument = true")

    def same_document(self) -> bool:
        return self.page.evaluate("window.__sameDocument === true")

    def product_list_reads(self) -> int:
        return sum(1 for request in self.requests if "/api/v1/products?" in request.url)

    def requests_to(self, method: str, path: str) -> list:
        return [r for r in self.requests if r.method == method and r.url.split("?")[0].endswith(path)]


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def room(app, live_server):
    """A two-worker server with dev sign-in, an admin and a live stream."""
    server = live_server(workers=2, ENABLE_DEV_AUTH="true")
    admin_api = AdminApi(server.url, signed_in(app, role="ADMIN").headers)
    return server, admin_api, admin_api.live_stream("Spring drop")


def test_two_viewers_chat_and_see_stock_sold_out_and_the_featured_product_change_live(room, browser, tmp_path):
    server, admin_api, stream = room
    lamp = admin_api.product(stream, "Paper lamp", stock=3)
    sneaky = admin_api.product(stream, '<img src=x onerror="window.__injected=1">Mug', stock=2)

    alice = Visitor(browser, server.url, "Alice")
    bob = Visitor(browser, server.url, "Bob")
    for visitor in (alice, bob):
        visitor.enter(stream)
        # The cards are read after the room is joined, so from here on every change is a broadcast.
        expect(visitor.card(lamp).locator(".stock")).to_have_text("3 left")
        visitor.mark_document()
    for visitor in (alice, bob):
        expect(visitor.page.locator("#viewer-count")).to_have_text("2")

    alice.say("Hello from Alice")
    expect(bob.message("Hello from Alice").locator(".author")).to_have_text("Alice")
    bob.say("Hi Alice, is the lamp warm white?")
    expect(alice.message("Hi Alice, is the lamp warm white?").locator(".author")).to_have_text("Bob")
    expect(alice.message("Hello from Alice")).to_have_count(1)  # own message shown once

    admin_api.call("POST", f"/products/{lamp['id']}/stock", delta=2)
    for visitor in (alice, bob):
        expect(visitor.card(lamp).locator(".stock")).to_have_text("5 left")
        expect(visitor.card(lamp).locator(".buy")).to_be_enabled()

    admin_api.call("POST", f"/products/{lamp['id']}/sold-out")
    for visitor in (alice, bob):
        expect(visitor.card(lamp).locator(".stock")).to_have_text("Sold out")
        expect(visitor.card(lamp).locator(".buy")).to_be_disabled()

    scarf = admin_api.product(stream, "Silk scarf", stock=4, price="29.50")
    admin_api.call("PUT", f"/streaming/streams/{stream['id']}/featured-product", productId=scarf["id"])
    for visitor in (alice, bob):
        expect(visitor.card(scarf).locator(".stock")).to_have_text("4 left")
        expect(visitor.page.locator("#featured-card .name")).to_have_text("Silk scarf")
        expect(visitor.page.locator("#featured-card .price .now")).to_have_text("29.50")

    for visitor in (alice, bob):
        # A name that is markup is shown as the characters it is, never turned into elements.
        expect(visitor.card(sneaky).locator(".name")).to_have_text(sneaky["name"])
        assert visitor.card(sneaky).locator(".name img").count() == 0
        assert visitor.page.evaluate("window.__injected") is None
        # No reload and no second read of the list: every change above came over the socket.
        assert visitor.same_document()
        assert visitor.product_list_reads() == 1
        assert visitor.errors == []
    alice.page.screenshot(path=str(tmp_path / "live-room.png"), full_page=True)


def test_a_purchase_asks_for_the_missing_profile_then_shows_the_order_it_made(room, browser, tmp_path):
    server, admin_api, stream = room
    shirt = admin_api.product(stream, "Linen shirt", stock=1, price="40.00")

    alice = Visitor(browser, server.url, "Alice")
    bob = Visitor(browser, server.url, "Bob")
    for visitor in (alice, bob):
        visitor.enter(stream)
        expect(visitor.card(shirt).locator(".stock")).to_have_text("1 left")

    # A new account has no depositor name or address yet: the order is refused, the form offered.
    expect(bob.page.locator("#profile")).to_be_visible()
    bob.card(shirt).locator(".buy").click()
    expect(bob.card(shirt).locator(".card-message")).to_have_text("Complete your profile (below) to buy.")
    assert admin_api.call("GET", "/admin/orders")["total"] == 0

    bob.complete_profile("Bob Stone")
    order_id = bob.buy(shirt)
    order = bob.page.locator(f'#order-list .order[data-order-id="{order_id}"]')
    expect(order.locator(".badge")).to_have_text("PENDING_PAYMENT")
    expect(order.locator(".order-items")).to_have_text("Linen shirt × 1")

    # The other viewer sees the sale and the last unit go, without a reload.
    expect(alice.page.locator("#purchases li").first).to_have_text("Bob bought Linen shirt")
    expect(alice.card(shirt).locator(".stock")).to_have_text("Sold out")
    expect(alice.card(shirt).locator(".buy")).to_be_disabled()

    # The server agrees: one order, Bob's, the one his page shows.
    orders = admin_api.call("GET", "/admin/orders")
    assert orders["total"] == 1
    assert orders["items"][0]["id"] == order_id
    assert orders["items"][0]["userEmail"] == bob.email
    # Placed the way a browser must: the auth cookie, the CSRF header and an idempotency key.
    placed = bob.requests_to("POST", "/api/v1/orders/direct")
    assert len(placed) == 2  # refused for the profile, then the order
    for request in placed:
        headers = request.all_headers()
        assert "authorization" not in headers
        assert "accessToken=" in headers["cookie"]
        assert headers["x-csrf-token"]
        assert headers["idempotency-key"]
    assert placed[0].headers["idempotency-key"] != placed[1].headers["idempotency-key"]
    assert alice.errors == [] and bob.errors == []
    bob.page.screenshot(path=str(tmp_path / "purchase.png"), full_page=True)

    # Signing out ends the session: the room closes, and a reload finds nobody signed in.
    bob.page.click("#sign-out")
    expect(bob.page.locator("#sign-in")).to_be_visible()
    expect(bob.page.locator("#room")).to_be_hidden()
    bob.page.reload()
    expect(bob.page.locator("#sign-in")).to_be_visible()
    expect(bob.page.locator("#account")).to_be_hidden()


def test_a_page_left_open_longer_than_the_access_token_lives_renews_it_and_still_buys(app, live_server, browser):
    server = live_server(workers=2, ENABLE_DEV_AUTH="true", JWT_EXPIRATION="3s")
    admin_api = AdminApi(
        server.url, signed_in(app, role="ADMIN").headers
    )  # its token comes from the test app: 15 minutes
    stream = admin_api.live_stream("Late night")
    vase = admin_api.product(stream, "Glass vase", stock=2, price="18.00")

    carol = Visitor(browser, server.url, "Carol")
    carol.enter(stream)
    carol.complete_profile("Carol Reed")
    carol.page.wait_for_timeout(4_000)  # the access token, and its cookie, have expired meanwhile

    order_id = carol.buy(vase)
    expect(carol.page.locator(f'#order-list .order[data-order-id="{order_id}"]')).to_be_visible()
    # (The page's first refresh, before signing in, has no refresh cookie to present: a 401.)
    refreshes = [request.response().status for request in carol.requests_to("POST", "/api/v1/auth/refresh")]
    assert refreshes[0] == 401 and 200 in refreshes[1:], refreshes
    expect(carol.card(vase).locator(".stock")).to_have_text("1 left")

    # A reload of the server: its processes close their sockets; the page connects again (with
    # an access token long expired: refused, renewed, connected), joins the room again and
    # follows the stock once more.
    carol.page.wait_for_timeout(4_000)
    refreshes_before = len(carol.requests_to("POST", "/api/v1/auth/refresh"))
    old_workers = server.worker_pids()
    server.signal(signal.SIGHUP)
    server.wait_for_workers(2, exclude=old_workers)
    admin_api.call("POST", f"/products/{vase['id']}/stock", delta=4)
    expect(carol.card(vase).locator(".stock")).to_have_text("5 left")
    assert len(carol.requests_to("POST", "/api/v1/auth/refresh")) > refreshes_before

    # A reload of the page with only the refresh cookie left signs the same person in again.
    carol.page.reload()
    expect(carol.page.locator("#account-name")).to_contain_text(carol.email)
    assert admin_api.call("GET", "/admin/orders")["total"] == 1
    assert carol.errors == []


def test_the_auction_panel_counts_down_on_the_server_clock_and_takes_bids(room, browser):
    server, admin_api, stream = room
    vase = admin_api.product(stream, "Glass vase", stock=2, price="60.00")
    auction = admin_api.call(
        "POST", "/auctions", productId=vase["id"], startingPrice="15.00", durationSeconds=120, antiSnipeSeconds=0
    )
    alice = Visitor(browser, server.url, "Alice")
    bob = Visitor(browser, server.url, "Bob")
    # Bob's clock is an hour fast: his countdown still shows the server's remaining time.
    bob.page.evaluate("(() => { const now = Date.now; Date.now = () => now() + 3600 * 1000; })()")
    for visitor in (alice, bob):
        visitor.enter(stream)
        expect(visitor.page.locator("#auction h3")).to_have_text("Auction: Glass vase")
        expect(visitor.page.locator("#auction .auction-clock")).to_have_text("Not started")
    admin_api.call("POST", f"/auctions/{auction['id']}/start")
    for visitor in (alice, bob):
        expect(visitor.page.locator("#auction .auction-bid")).to_have_text("Bid $15.00")
        expect(visitor.page.locator("#auction .auction-clock")).to_have_text(re.compile(r"^(1[01]\d|120) s left$"))
    # Bids need a complete profile; Alice completes hers and bids from the panel.
    alice.complete_profile("Alice Park")
    alice.page.click("#auction .auction-bid")
    expect(alice.page.locator("#auction .auction-note")).to_have_text("You lead.")
    for visitor in (alice, bob):
        expect(visitor.page.locator("#auction .auction-price")).to_have_text("$15.00")
        expect(visitor.page.locator("#auction .auction-leader")).to_have_text("Leading: Alice")
    bob.page.click("#auction .auction-bid")
    expect(bob.page.locator("#auction .auction-note")).to_have_text(re.compile("Complete your"))
    admin_api.call("POST", f"/auctions/{auction['id']}/cancel")
    for visitor in (alice, bob):
        expect(visitor.page.locator("#auction .auction-clock")).to_have_text("Cancelled")
        assert visitor.errors == []
