// Page object for a demo host page with the EverDesk snippet: the launcher in the
// loader's shadow root, and the widget in its frame. Locators go by role and
// accessible name, as a keyboard or screen-reader user would find things.
export class ShopPage {
  constructor(page, stack) {
    this.page = page;
    this.stack = stack;
    this.requests = [];
    page.on('request', (req) => this.requests.push(req.url()));
  }

  /**
   * A fresh browser context (its own storage) on a demo page of `env.stack`, with
   * the panel opened unless `open: false`. `watch(page)` runs before the page loads,
   * to attach listeners that must see everything. `snippet` sets attributes on the
   * page's EverDesk <script> tag, e.g. `{ 'data-color': '#ffd400' }` (see
   * `withSnippet`). Close it with `shop.close()`.
   */
  static async visit(env, path = '/', { open = true, watch, snippet } = {}) {
    const context = await env.browser.newContext();
    const shop = new ShopPage(await context.newPage(), env.stack);
    shop.context = context;
    if (snippet) await shop.withSnippet(snippet);
    watch?.(shop.page);
    await shop.goto(path);
    if (snippet) {
      const set = await shop.page.evaluate((names) => {
        const tag = document.querySelector('script[src$="/loader.js"]');
        return names.map((name) => tag?.getAttribute(name));
      }, Object.keys(snippet));
      if (JSON.stringify(set) !== JSON.stringify(Object.values(snippet))) {
        throw new Error(`snippet attributes not set on ${path}: ${JSON.stringify(set)}`);
      }
    }
    if (open) await shop.open();
    return shop;
  }

  async close() {
    await (this.context ?? this.page).close();
  }

  async goto(path = '/') {
    await this.page.goto(`${this.stack.hostOrigin}${path}`);
    await this.launcher().waitFor();
  }

  /**
   * Sets `attrs` on the page's EverDesk <script> tag before the loader runs, as if the
   * host had written them in its snippet: the tag's `data-*` attributes are set as
   * soon as the parser inserts it (a page rewritten by page.route would be served
   * from the public address space, and Chromium would then refuse its loopback
   * loader). `visit` checks afterwards that the tag has them.
   */
  async withSnippet(attrs) {
    await this.page.addInitScript((attrs) => {
      if (window !== window.top) return; // not in the widget's frame
      new MutationObserver((_, observer) => {
        const tag = document.querySelector('script[src$="/loader.js"]');
        if (!tag) return;
        for (const [name, value] of Object.entries(attrs)) tag.setAttribute(name, value);
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    }, attrs);
  }

  /** The launcher button (Playwright's locators pierce the open shadow root). */
  launcher() {
    return this.page.locator('everdesk-widget button[aria-haspopup="dialog"]');
  }

  frameElement() {
    return this.page.locator('everdesk-widget iframe');
  }

  /** The widget's document, for locators. */
  w() {
    return this.page.frameLocator('everdesk-widget iframe');
  }

  /** The widget's frame, for evaluate(). */
  frame() {
    return this.page.frames().find((f) => f.url().startsWith(`${this.stack.widgetOrigin}/widget/`));
  }

  dialog() {
    return this.w().getByRole('dialog');
  }

  /** Opens the panel and waits until the frame has booted and been configured. */
  async open() {
    await this.launcher().click();
    await this.frameElement().waitFor({ state: 'visible' });
    await this.w().getByRole('heading', { level: 1, name: 'Acme support' }).waitFor();
  }

  async newTicket(subject) {
    await this.w().getByRole('button', { name: 'New conversation' }).click();
    await this.w().getByLabel('What do you need help with?').fill(subject);
    await this.w().getByRole('button', { name: 'Start conversation' }).click();
    await this.w().getByRole('heading', { level: 2, name: subject }).waitFor();
    // The proxy's opening message arrives.
    await this.w().locator('li.ed-msg:not(.ed-msg--mine)').first().waitFor();
  }

  composer() {
    return this.w().getByRole('textbox', { name: 'Message' });
  }

  async type(text) {
    await this.composer().fill(text);
    await this.composer().press('Enter');
  }

  /** A message bubble (list item) containing `text`. */
  message(text) {
    return this.w().locator('li.ed-msg').filter({ hasText: text });
  }

  /** Sends a message and waits until the proxy confirmed it and a reply arrived. */
  async send(text) {
    const before = await this.w().locator('li.ed-msg:not(.ed-msg--mine)').count();
    await this.type(text);
    await this.message(text).and(this.w().locator('[data-delivery=sent]')).waitFor();
    await this.w().locator('li.ed-msg:not(.ed-msg--mine)').nth(before).waitFor();
  }

  async backToList() {
    await this.w().getByRole('button', { name: 'Back to conversations' }).click();
  }

  /**
   * A value the widget stored, parsed from its envelope: from the frame origin's
   * localStorage, or — where the browser blocks third-party storage — from the host
   * page's, where the loader keeps the frame's keys.
   */
  async stored(key) {
    const read = (k) => {
      try { return { raw: localStorage.getItem(k) }; } catch { return null; }
    };
    const found = (await this.frame().evaluate(read, key)) ?? (await this.page.evaluate(read, key));
    return found?.raw == null ? null : JSON.parse(found.raw).d;
  }
}
