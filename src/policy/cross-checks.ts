// Rules across vendor files: each request must reach exactly one vendor. Vendor
// names, path prefixes and routing hosts are unique, and no prefix sits inside
// another (with /a and /a/b, a call to /a/b/x would be ambiguous). A clash is
// reported on the later file (in load order), naming the earlier one.
import { problemOnWritten, type SourceFile } from './source.js'
import type { PolicyProblem, VendorPolicy } from './types.js'

export interface LoadedVendor {
  policy: VendorPolicy
  src: SourceFile
  defaults: SourceFile | undefined
}

/** What the rules across files read: a vendor's name and routing, also of a file with problems of its own. */
export interface RoutedVendor {
  policy: { vendor: string, routes: Pick<VendorPolicy['routes'], 'prefix' | 'hosts'> }
  src: SourceFile
  defaults: SourceFile | undefined
}

export function crossProblems (vendors: readonly RoutedVendor[]): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  vendors.forEach((later, i) => {
    const { policy, src, defaults } = later
    const at = (paths: Array<Array<string | number>>, message: string): void => {
      problems.push(problemOnWritten(src, defaults, paths, message, policy.vendor))
    }
    const earlier = vendors.slice(0, i)

    const twin = earlier.find(e => e.policy.vendor === policy.vendor)
    if (twin !== undefined) at([['vendor']], `duplicate vendor "${policy.vendor}" (also in ${twin.src.file})`)

    const prefix = policy.routes.prefix
    for (const e of earlier) {
      // Two files of one vendor share its default prefix: the duplicate name says it all.
      if (e === twin && policy.routes.prefix === `/${policy.vendor}`) continue
      const other = e.policy.routes.prefix
      const whose = `vendor "${e.policy.vendor}" (${e.src.file})`
      if (other === prefix) at([['routes', 'prefix']], `routes.prefix "${prefix}" is also the prefix of ${whose}`)
      else if (prefix.startsWith(`${other}/`)) at([['routes', 'prefix']], `routes.prefix "${prefix}" is nested in the prefix "${other}" of ${whose}`)
      else if (other.startsWith(`${prefix}/`)) at([['routes', 'prefix']], `routes.prefix "${prefix}" contains the prefix "${other}" of ${whose}`)
    }

    policy.routes.hosts.forEach((host, j) => {
      if (policy.routes.hosts.indexOf(host) < j) {
        at([['routes', 'hosts', j]], `routes.hosts lists "${host}" twice`)
        return
      }
      const owner = earlier.find(e => e.policy.routes.hosts.includes(host))
      if (owner !== undefined) at([['routes', 'hosts', j]], `host "${host}" is also routed to vendor "${owner.policy.vendor}" (${owner.src.file})`)
    })
  })
  return problems
}
