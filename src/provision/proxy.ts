/** The proxy variables the docker daemon reads (Go's ProxyFromEnvironment), in both cases. */
export const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** The host's proxy settings as NAME=value entries: what create (or provision --proxy-from-env) stores. */
export function captureProxy(hostEnv: NodeJS.ProcessEnv): string[] {
  return PROXY_VARS.filter((name) => hostEnv[name]).map((name) => `${name}=${hostEnv[name]}`);
}

/**
 * The daemon's environment: the stored host proxy settings, with a proxy on the host's loopback
 * rewritten to the host's address as the VM sees it, then the machine's --engine-env, which wins
 * (an empty --engine-env value removes a variable).
 */
export function daemonEnv(engineEnv: string[], hostProxy: string[], hostAddress: string | undefined): string[] {
  const vars = new Map<string, string>();
  for (const entry of hostProxy) {
    const [name, value] = split(entry);
    if (PROXY_VARS.includes(name) && value) vars.set(name, /no_proxy/i.test(name) ? value : rewriteLoopback(value, hostAddress));
  }
  for (const entry of engineEnv) {
    const [name, value] = split(entry);
    vars.delete(name);
    if (value !== '') vars.set(name, value);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function split(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
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
