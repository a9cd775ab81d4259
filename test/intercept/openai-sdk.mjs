// Run by openai-sdk.test.ts as an application would be: the official openai
// package with its default base URL (https://api.openai.com/v1), a proxy taken
// from HTTPS_PROXY, and the interception CA trusted through NODE_EXTRA_CA_CERTS.
// Node 20's fetch does not read HTTPS_PROXY itself, so the app hands the SDK
// undici's fetch with an EnvHttpProxyAgent, the usual setup on Node 20.
import OpenAI from 'openai'
import { EnvHttpProxyAgent, fetch } from 'undici'

const client = new OpenAI({ apiKey: 'sk-app-placeholder', fetch, fetchOptions: { dispatcher: new EnvHttpProxyAgent() }, maxRetries: 0 })
const completion = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }] })
const chunks = []
const stream = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'stream' }], stream: true })
for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta?.content ?? '')
process.stdout.write(JSON.stringify({ baseURL: client.baseURL, content: completion.choices[0].message.content, streamed: chunks.join('') }) + '\n')
