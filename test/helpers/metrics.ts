// Reading a running sluice's /metrics (the admin listener), one way for every test.
import { request } from 'undici'

export async function metricsText (adminUrl: string): Promise<string> {
  return await (await request(`${adminUrl}/metrics`)).body.text()
}

/**
 * The value of `name` summed over the samples that carry every one of
 * `labels` (all of a sample's labels: exactly that sample); undefined when no
 * sample matches: a counter nothing has counted yet has no sample at all.
 */
export async function metricValue (adminUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  let total: number | undefined
  for (const line of (await metricsText(adminUrl)).split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : ''
    const have = labelText === '' ? [] : labelText.split(',')
    if (!want.every(w => have.includes(w))) continue
    total = (total ?? 0) + Number(rest.slice(rest.lastIndexOf(' ') + 1))
  }
  return total
}
