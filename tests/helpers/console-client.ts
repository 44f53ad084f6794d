/** A browser-like client of the county console for the HTTP tests: a cookie jar, no redirects followed. */
export class ConsoleClient {
  readonly jar = new Map<string, string>();
  constructor(private readonly base: string) {}

  async req(path: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(this.base + path, { ...init, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const value = pair!.slice(i + 1);
      if (value === '' || /Max-Age=0/.test(c)) this.jar.delete(pair!.slice(0, i));
      else this.jar.set(pair!.slice(0, i), value);
    }
    return res;
  }

  /** A form POST from the console's own origin (as a browser on its pages sends it). */
  post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    return this.req(path, { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base, ...headers } });
  }

  /**
   * A push's fields as the confirmation posts them (`do=confirm` and the digest of what it showed): the
   * console shows the schedule in words first and sends only what was confirmed. Posts `fields` once to
   * get that confirmation.
   */
  async confirmed(fields: Record<string, string | string[]>): Promise<Record<string, string | string[]>> {
    const res = await this.post('/schedules', fields);
    const text = await res.text();
    const review = /name="review" value="([0-9a-f]{32})"/.exec(text)?.[1];
    if (res.status !== 200 || !review) throw new Error(`no confirmation (${res.status}): ${text.slice(0, 2000)}`);
    return { ...fields, do: 'confirm', review };
  }

  /** The `_csrf` of the first form on a page. */
  async csrf(path: string): Promise<string> {
    const text = await (await this.req(path)).text();
    return /name="_csrf" value="([^"]+)"/.exec(text)![1]!;
  }

  async login(user: string, password: string): Promise<Response> {
    const token = await this.csrf('/login');
    return this.post('/login', { _csrf: token, user, password, back: '/fleet' });
  }

  async loginStatus(user: string, password: string): Promise<number> {
    return (await this.login(user, password)).status;
  }
}
