/**
 * The Date a SQL row holds. The engine orders values that are not strings or numbers by their
 * text (`String(v)`), and a Date's text ("Mon Jan 15 2024 10:00:00 GMT+0000") drops the
 * milliseconds and begins with the weekday: `ORDER BY timestamp` would put Friday before Monday.
 * This Date's text is its ISO form, whose order is the time order (years 0 to 9999).
 */
export class SqlDate extends Date {
  override toString(): string {
    return this.toISOString()
  }
}
