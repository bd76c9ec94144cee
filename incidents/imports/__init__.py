"""Bulk import of a centre's historical 110 calls (issue 43).

- `columns`: the fields a call is imported with, the column names a centre's export is likely to use for
  them (guessed, then confirmed on the mapping step), and the reading of one row into a call's values with
  the reason a bad row is refused;
- `readers`: the file streamed row by row, CSV (UTF-8 or GB18030) or XLSX;
- `services`: the preview (first rows, their errors) and the import itself: every row checked, the good ones
  written in one transaction (COPY into a staging table and one INSERT … ON CONFLICT on PostgreSQL), the bad
  ones reported by line and reason, a re-run adding nothing; then, in the background, the imported calls'
  grids and suggestions in batches and their days' reviews.

The browser's steps are in incidents.views (upload, map and preview, progress); the command is
`manage.py import_calls`."""
