import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

const api = process.env.WEIR_API ?? 'http://127.0.0.1:8081'

/** Builds the dashboard into dist/web, which the REST server serves; `vite dev` proxies the API. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset paths: the dashboard works wherever the server mounts it.
  base: './',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(['/jobs', '/overview', '/metrics', '/openapi.json'].map((path) => [path, api])),
  },
})
