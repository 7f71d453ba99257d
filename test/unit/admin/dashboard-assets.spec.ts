import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DashboardAssetsMissingError } from '../../../lib/integrations/admin/dashboard/dashboard.errors';
import {
  baseHref,
  DashboardAssets,
} from '../../../lib/integrations/admin/dashboard/dashboard-assets';

describe('DashboardAssets', () => {
  it('puts the page path, with one leading and one trailing slash, in <base>', () => {
    expect(baseHref('/scheduler')).toBe('/scheduler/');
    expect(baseHref('/ops/scheduler/?tenant=acme')).toBe('/ops/scheduler/');
    expect(baseHref('/scheduler#top')).toBe('/scheduler/');
    // Never a protocol-relative URL (the CSP's base-uri 'self' would refuse it anyway).
    expect(baseHref('//evil.example/scheduler')).toBe('/evil.example/scheduler/');
    expect(baseHref('')).toBe('/');
  });

  it('escapes the path in the attribute', () => {
    const page = new DashboardAssets().page('/a"><script>x</script>');
    expect(page).toContain('<base href="/a&#34;&#62;&#60;script&#62;x&#60;/script&#62;/" />');
    expect(page).not.toContain('%BASE_HREF%');
  });

  it('serves only the files of its folder, by name, and not index.html as an asset', () => {
    const assets = new DashboardAssets();
    expect(assets.asset('app.js')?.contentType).toBe('text/javascript; charset=utf-8');
    for (const name of ['index.html', '../dashboard-assets.ts', 'assets/app.js', 'nope.css']) {
      expect(assets.asset(name)).toBeUndefined();
    }
  });

  it('refuses to start without its index.html, saying how the build lost it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    try {
      writeFileSync(join(dir, 'app.js'), '');
      expect(() => new DashboardAssets(dir)).toThrow(DashboardAssetsMissingError);
      expect(() => new DashboardAssets(dir)).toThrow(/no index\.html .*nest-cli\.json "assets"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
