"""Loading generated calls and slips with COPY, for the benchmarks that need history at a city's scale
(daily_review, pages): the columns each generator writes, in this order, tab-separated, \\N for null."""

CALL_COLUMNS = ("id, call_id, received_at, caller_phone, caller_name, address, content, channel, micro_grid_id, "
                "status, created_at, suggestions, suggested_police, repeats, is_police, category_id, "
                "return_count, suggested_category_id, version, caller_key, classified_at")
SLIP_COLUMNS = ("id, year, number, call_id, category_id, department_id, status, instructions, issued_by_id, "
                "issued_at, deadline, notified_at, accepted_at, handler_name, returned_at, return_reason, "
                "result, completed_at, closed_at, close_reason, reopen_count")


def copy_calls_and_slips(raw, calls: str, slips: str) -> None:
    """COPY the rows into incidents_call and diversion_handoffslip on the psycopg connection `raw`."""
    with raw.cursor() as c:
        with c.copy(f"COPY incidents_call ({CALL_COLUMNS}) FROM STDIN") as cp:
            cp.write(calls)
        with c.copy(f"COPY diversion_handoffslip ({SLIP_COLUMNS}) FROM STDIN") as cp:
            cp.write(slips)
    raw.commit()


def set_sequences(raw, next_call: int, next_slip: int) -> None:
    with raw.cursor() as c:
        c.execute("SELECT setval(pg_get_serial_sequence('incidents_call', 'id'), %s)", [next_call])
        c.execute("SELECT setval(pg_get_serial_sequence('diversion_handoffslip', 'id'), %s)", [next_slip])
    raw.commit()


def vacuum_analyze(raw) -> None:
    raw.autocommit = True  # VACUUM cannot run in a transaction
    with raw.cursor() as c:
        c.execute("VACUUM ANALYZE incidents_call")
        c.execute("VACUUM ANALYZE diversion_handoffslip")
