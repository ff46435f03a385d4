import { useEffect, useRef, useState } from 'preact/hooks'

/** The latest answer of a poll, or the error that stopped the latest attempt. */
export interface PollState<T> {
  data: T | undefined
  error: string | undefined
  /** Fetch again now (after an action changed something). */
  refresh: () => void
}

/**
 * Calls `load` now and then every `intervalMs` (one call at a time: a slow answer delays the next
 * rather than piling requests up), until the component goes or `key` changes.
 */
export function usePoll<T>(key: string | undefined, load: () => Promise<T>, intervalMs = 1000): PollState<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const loadRef = useRef(load)
  loadRef.current = load
  const kick = useRef<() => void>(() => {})

  useEffect(() => {
    setData(undefined)
    setError(undefined)
    if (key === undefined) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = async (): Promise<void> => {
      if (timer) clearTimeout(timer)
      try {
        const value = await loadRef.current()
        if (stopped) return
        setData(value)
        setError(undefined)
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e))
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs)
    }
    kick.current = () => void tick()
    void tick()
    return () => {
      stopped = true
      if (timer) clearTimeout(timer)
    }
  }, [key, intervalMs])

  return { data, error, refresh: () => kick.current() }
}
