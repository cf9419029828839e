-- ocpstore schema, version 5: the audit trail is append-only for everyone.
--
-- The application role gets SELECT and INSERT on audit_events and nothing
-- else (postgres.GrantApplication), so the service cannot rewrite history.
-- The owner can still UPDATE, DELETE or TRUNCATE its own table; this
-- trigger refuses those statements too, so a mistake made as the owner
-- (an UPDATE typed into psql, a cleanup script) does not rewrite history
-- either. Statement-level: it costs nothing on INSERT, the hot path, and
-- once per statement elsewhere.
--
-- The one way through is retention (Audit.Purge, run as the owner): the
-- statement runs in a transaction where the setting ocpstore.audit_retention
-- is 'purge' (set with set_config(..., true), so it ends with the
-- transaction) and the current role is a member of audit_events' owner.
-- Any role can set a custom setting, so the setting alone proves nothing;
-- the membership check is what an application role cannot pass, and it
-- also has no DELETE or TRUNCATE privilege to begin with. UPDATE is
-- refused always: retention deletes, nothing edits an event.
CREATE FUNCTION ocpstore_audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
        AND current_setting('ocpstore.audit_retention', true) = 'purge'
        AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused for role %', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Retention is Audit.Purge run as the owner role (README: Security).';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION ocpstore_audit_events_append_only();
