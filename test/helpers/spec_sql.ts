/** The spec's five queries, verbatim. */
export const SPEC_QUERIES: Record<string, string> = {
  errorRates: `
  SELECT
    scriptName,
    COUNT(*) as total,
    SUM(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) as errors,
    ROUND(SUM(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) * 100.0 / COUNT(*), 2) as error_rate
  FROM WorkerRequests
  WHERE timestamp > NOW() - INTERVAL '1 hour'
  GROUP BY scriptName
  ORDER BY error_rate DESC
`,
  topEndpoints: `
  SELECT
    scriptName,
    method,
    url,
    COUNT(*) as request_count,
    AVG(CASE WHEN outcome != 'ok' THEN 1 ELSE 0 END) as error_rate
  FROM WorkerRequests
  WHERE timestamp > NOW() - INTERVAL '24 hours'
  GROUP BY scriptName, method, url
  ORDER BY request_count DESC
  LIMIT 20
`,
  recentExceptions: `
  SELECT
    scriptName,
    exceptionName,
    exceptionMessage,
    url,
    colo,
    timestamp
  FROM WorkerErrors
  WHERE exceptionName IS NOT NULL
    AND timestamp > NOW() - INTERVAL '1 hour'
  ORDER BY timestamp DESC
  LIMIT 50
`,
  geoBreakdown: `
  SELECT
    country,
    colo,
    COUNT(*) as requests,
    AVG(CASE WHEN status >= 500 THEN 1 ELSE 0 END) as error_rate
  FROM WorkerRequests
  WHERE timestamp > NOW() - INTERVAL '24 hours'
  GROUP BY country, colo
  ORDER BY requests DESC
`,
  debugLogs: `
  SELECT
    scriptName,
    level,
    message,
    timestamp
  FROM WorkerLogs
  WHERE level IN ('warn', 'error')
    AND timestamp > NOW() - INTERVAL '1 hour'
  ORDER BY timestamp DESC
  LIMIT 100
`,
}
/** The ORDER BY keys of each query: engines may order ties differently, never the keys. */
export const ORDER_KEYS: Record<string, string[]> = {
  errorRates: ['error_rate'], topEndpoints: ['request_count'], recentExceptions: ['timestamp'], geoBreakdown: ['requests'], debugLogs: ['timestamp'],
}
