/** The proxy variables the docker daemon reads (Go's ProxyFromEnvironment), in both cases. */
export const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/**
 * The daemon's environment: the host's proxy variables, with a proxy on the host's loopback
 * rewritten to the host's address as the VM sees it, then the machine's --engine-env, which wins
 * (an empty --engine-env value removes a variable).
 */
export function daemonEnv(engineEnv: string[], hostEnv: NodeJS.ProcessEnv, hostAddress: string | undefined): string[] {
  const vars = new Map<string, string>();
  for (const name of PROXY_VARS) {
    const value = hostEnv[name];
    if (value) vars.set(name, /no_proxy/i.test(name) ? value : rewriteLoopback(value, hostAddress));
  }
  for (const entry of engineEnv) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    vars.delete(name);
    if (entry.slice(eq + 1) !== '') vars.set(name, entry.slice(eq + 1));
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function rewriteLoopback(proxy: string, hostAddress: string | undefined): string {
  if (!hostAddress) return proxy;
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`);
    if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return proxy;
    return proxy.replace(u.hostname, hostAddress);
  } catch {
    return proxy;
  }
}
