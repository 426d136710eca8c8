import { describe, expect, it } from 'vitest';
import { readApiBaseUrl } from './api-base-url-argument.js';

describe('readApiBaseUrl', () => {
  it('reads the URL main passes on the renderer command line', () => {
    const argv = [
      '/opt/Build Mesh/build-mesh',
      '--type=renderer',
      '--buildmesh-api-base-url=http://127.0.0.1:5000',
    ];
    expect(readApiBaseUrl(argv)).toBe('http://127.0.0.1:5000');
  });

  it('drops a trailing slash and keeps IPv6 hosts', () => {
    expect(readApiBaseUrl(['--buildmesh-api-base-url=http://[::1]:5123/'])).toBe('http://[::1]:5123');
  });

  it('is null when the switch is missing or not an http(s) URL', () => {
    expect(readApiBaseUrl(['--type=renderer'])).toBeNull();
    expect(readApiBaseUrl(['--buildmesh-api-base-url='])).toBeNull();
    expect(readApiBaseUrl(['--buildmesh-api-base-url=file:///etc/passwd'])).toBeNull();
    expect(readApiBaseUrl(['--buildmesh-api-base-url=javascript:alert(1)'])).toBeNull();
  });
});
