// Peak memory of a child process, sampled every few milliseconds while it works: the parent
// caps the heap (--max-old-space-size) and reads the peaks from the child's output.
export function sampleMemory(everyMs = 5) {
  const peaks = { peakRss: 0, peakHeap: 0 }
  const sample = () => {
    const m = process.memoryUsage()
    peaks.peakRss = Math.max(peaks.peakRss, m.rss)
    peaks.peakHeap = Math.max(peaks.peakHeap, m.heapUsed + m.external + m.arrayBuffers)
  }
  const timer = setInterval(sample, everyMs)
  return { peaks, sample, stop() { sample(); clearInterval(timer) } }
}
