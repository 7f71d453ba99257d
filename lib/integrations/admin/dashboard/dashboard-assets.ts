import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DashboardAssetsMissingError } from './dashboard.errors';

/** The Content-Type of each kind of file the dashboard is made of. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where index.html puts the page's own URL, so that its relative links resolve under the path. */
const BASE_HREF = '%BASE_HREF%';

export interface DashboardAsset {
  contentType: string;
  body: Buffer;
}

/**
 * The dashboard's static files: `assets/` beside this file (nest-cli.json copies it to dist/),
 * read once. Only these files can be served: a requested name is looked up, never joined to a
 * path, so no request reaches another file.
 */
export class DashboardAssets {
  private readonly files = new Map<string, DashboardAsset>();
  private readonly indexHtml: string;

  constructor(dir: string = join(__dirname, 'assets')) {
    for (const name of readdirSync(dir)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType) this.files.set(name, { contentType, body: readFileSync(join(dir, name)) });
    }
    const index = this.files.get('index.html');
    if (!index) throw new DashboardAssetsMissingError(dir);
    this.indexHtml = index.body.toString('utf8');
  }

  /** The file `name` (as in `/{path}/assets/<name>`), or undefined if there is none. */
  asset(name: string): DashboardAsset | undefined {
    return name === 'index.html' ? undefined : this.files.get(name);
  }

  /** index.html for a page at `requestPath` (the path the browser asked for, query excluded). */
  page(requestPath: string): string {
    return this.indexHtml.replace(BASE_HREF, escapeAttribute(baseHref(requestPath)));
  }
}

/** The directory URL of the page: its path with one leading and one trailing slash. */
export function baseHref(requestPath: string): string {
  const path = requestPath.split(/[?#]/, 1)[0].replace(/^\/+/, '/');
  const absolute = path.startsWith('/') ? path : `/${path}`;
  return absolute.endsWith('/') ? absolute : `${absolute}/`;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"'<>]/g, (char) => `&#${char.charCodeAt(0)};`);
}
