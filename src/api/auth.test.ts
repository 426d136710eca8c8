import { describe, expect, it } from 'vitest';
import { isLoopbackHost, requiredAccess } from './auth.js';

describe('requiredAccess', () => {
  it('follows the access table for API routes, whatever the case or trailing slash', () => {
    expect(requiredAccess('GET', '/health', false)).toBe('public');
    expect(requiredAccess('HEAD', '/health', false)).toBe('public');
    expect(requiredAccess('POST', '/api/v1/builds', true)).toBe('Developer');
    expect(requiredAccess('POST', '/API/V1/Builds/abc/Cancel/', true)).toBe('BuildMaster');
    expect(requiredAccess('PATCH', '/api/v1/config', true)).toBe('Admin');
    expect(requiredAccess('GET', '/api/v1/audit', true)).toBe('Admin');
  });

  it('asks for a token on every other path under /api, however it is spelled', () => {
    for (const path of [
      '/api',
      '/api/',
      '/api/v1/unknown',
      '/API/v2/x',
      '//api//v1/builds',
      '/%61pi/v1/builds',
    ]) {
      expect(requiredAccess('GET', path, true), path).toBe('Developer');
    }
    expect(requiredAccess('PUT', '/api/v1/builds', true)).toBe('Developer');
  });

  it('opens /metrics and /swagger on loopback only, and the UI always', () => {
    for (const path of ['/metrics', '/swagger', '/swagger/v1/swagger.json', '/Swagger/index.css']) {
      expect(requiredAccess('GET', path, true), path).toBe('open');
      expect(requiredAccess('GET', path, false), path).toBe('Developer');
    }
    for (const path of ['/', '/index.html', '/assets/app.js', '/builds/123', '/apiary']) {
      expect(requiredAccess('GET', path, false), path).toBe('open');
    }
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback from everything else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'build.example.com', '10.0.0.1', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
