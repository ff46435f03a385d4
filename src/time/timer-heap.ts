/** A binary min-heap ordered by `timestamp`. */
export class TimerHeap<T extends { timestamp: number }> {
  private readonly items: T[] = []

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const a = this.items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (a[parent].timestamp <= item.timestamp) break
      a[i] = a[parent]
      i = parent
    }
    a[i] = item
  }

  pop(): T | undefined {
    const a = this.items
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop()!
    if (a.length > 0) {
      let i = 0
      const n = a.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && a[r].timestamp < a[l].timestamp ? r : l
        if (a[c].timestamp >= last.timestamp) break
        a[i] = a[c]
        i = c
      }
      a[i] = last
    }
    return top
  }

  clear(): void {
    this.items.length = 0
  }
}
