/** What a link audit record records: one change of a link (table `link_audit`, written in the transaction of the change). */
export type LinkAuditAction = 'create' | 'update' | 'delete';
export const LINK_AUDIT_ACTIONS: readonly LinkAuditAction[] = ['create', 'update', 'delete'];
