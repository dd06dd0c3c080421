export { MAX_CELL, age, bytes, cell, eventLine, fields, statsLine, statusText, table, time } from './format.js'
