// Page object for a demo host page with the EverDesk snippet: the launcher in the
// loader's shadow root, and the widget frame.
export class ShopPage {
  constructor(page, stack) {
    this.page = page;
    this.stack = stack;
    this.requests = [];
    page.on('request', (req) => this.requests.push(req.url()));
  }

  async goto(path = '/') {
    await this.page.goto(`${this.stack.hostOrigin}${path}`);
  }

  /** The launcher button (Playwright's locators pierce the open shadow root). */
  launcher() {
    return this.page.locator('everdesk-widget button[aria-haspopup="dialog"]');
  }

  frameElement() {
    return this.page.locator('everdesk-widget iframe');
  }

  /** The widget's document. */
  frame() {
    return this.page.frameLocator('everdesk-widget iframe');
  }

  dialog() {
    return this.frame().getByRole('dialog');
  }
}
