export const ROUTES: [string, string, number][]
export const SCRIPTS: string[]
export const PLACES: [string, string, string, string][]
export function pickRequest(rand?: () => number): {
  script: string; method: string; path: string; cf: Record<string, string>
}
