// The admin API's OpenAPI 3.1 document, served at GET /v2/openapi.json: one entry per operation
// (method, summary, query parameters, body kind), kept by hand next to the router and checked
// against its operation table by openapi.test.ts, so neither can drift from the other.

type Body = 'object' | 'array' | 'binary' | 'none';
interface OpDoc {
  method: 'GET' | 'POST' | 'PUT' | 'GET+POST';
  tag: string;
  summary: string;
  query?: string[];
  body?: Body;
}

/** `?node=`: a node id (or a unique prefix), `self`, or `*` for every node (Garage's multi-node form). */
const NODE = 'node';

export const OPERATIONS: Record<string, OpDoc> = {
  // Cluster
  GetClusterStatus: { method: 'GET', tag: 'Cluster', summary: 'Nodes of the cluster with their role, state, free space and partitions' },
  GetClusterHealth: { method: 'GET', tag: 'Cluster', summary: 'Quorum and replication state of the partitions, and the replication debt' },
  GetClusterStatistics: { method: 'GET', tag: 'Cluster', summary: 'Storage nodes, usable and available space, buckets and keys (freeform text and fields)' },
  ConnectClusterNodes: { method: 'POST', tag: 'Cluster', summary: 'Connect to nodes given as "<id>@<host>:<port>"', body: 'array' },
  GetNodeInfo: { method: 'GET', tag: 'Node', summary: 'Identity, version and address of nodes', query: [NODE] },
  GetNodeStatistics: { method: 'GET', tag: 'Node', summary: "Tables, blocks and queues of nodes (freeform text and fields)", query: [NODE] },
  GetNodeMetricsSummary: { method: 'GET', tag: 'Node', summary: "The counters the console charts (requests, errors, latency, memory, data disk), as JSON" },
  CreateMetadataSnapshot: { method: 'POST', tag: 'Node', summary: 'A consistent copy of the metadata database, kept N deep', query: [NODE] },
  // Layout
  GetClusterLayout: { method: 'GET', tag: 'Layout', summary: 'Current layout, staged role changes and parameters' },
  GetClusterLayoutHistory: { method: 'GET', tag: 'Layout', summary: 'Layout versions in use and the update trackers' },
  UpdateClusterLayout: { method: 'POST', tag: 'Layout', summary: 'Stage role changes and parameters (zoneRedundancy, replicationFactor)' },
  PreviewClusterLayoutChanges: { method: 'POST', tag: 'Layout', summary: 'What applying the staged changes would move' },
  ApplyClusterLayout: { method: 'POST', tag: 'Layout', summary: 'Apply the staged changes as version {version}' },
  RevertClusterLayout: { method: 'POST', tag: 'Layout', summary: 'Drop the staged changes' },
  ClusterLayoutSkipDeadNodes: { method: 'POST', tag: 'Layout', summary: 'Let a layout change finish without nodes that are down for good' },
  // Keys
  ListKeys: { method: 'GET', tag: 'Access key', summary: 'Access keys with their expiration' },
  GetKeyInfo: { method: 'GET', tag: 'Access key', summary: 'One key, its buckets and aliases', query: ['id', 'search', 'showSecretKey'] },
  CreateKey: { method: 'POST', tag: 'Access key', summary: 'Create a key (name, allow.createBucket, expiration or neverExpires, sitesMax)' },
  ImportKey: { method: 'POST', tag: 'Access key', summary: 'Import a key pair made elsewhere' },
  UpdateKey: { method: 'POST', tag: 'Access key', summary: 'Rename, allow/deny createBucket, set or clear the expiration, sitesMax (sites the key may create itself)', query: ['id', 'search'] },
  DeleteKey: { method: 'POST', tag: 'Access key', summary: 'Delete a key', query: ['id', 'search'] },
  // Buckets
  ListBuckets: { method: 'GET', tag: 'Bucket', summary: 'Buckets with their global and local aliases; with limit (≤ 1000), start (a nextStart) or search (alias substring or id prefix): one page {buckets, nextStart}', query: ['limit', 'start', 'search'] },
  GetBucketInfo: { method: 'GET', tag: 'Bucket', summary: 'One bucket: aliases, keys, usage, quotas, website', query: ['id', 'globalAlias', 'search'] },
  CreateBucket: { method: 'POST', tag: 'Bucket', summary: 'Create a bucket with a global alias' },
  UpdateBucket: { method: 'POST', tag: 'Bucket', summary: 'Website access and quotas', query: ['id', 'globalAlias', 'search'] },
  DeleteBucket: { method: 'POST', tag: 'Bucket', summary: 'Delete an empty bucket', query: ['id', 'globalAlias', 'search'] },
  CleanupIncompleteUploads: { method: 'POST', tag: 'Bucket', summary: 'Abort multipart uploads older than olderThanSecs' },
  InspectObject: { method: 'GET', tag: 'Bucket', summary: 'Every stored version of an object with its blocks', query: ['bucketId', 'key'] },
  AddBucketAlias: { method: 'POST', tag: 'Bucket alias', summary: 'Add a global alias, or a local alias of one key' },
  RemoveBucketAlias: { method: 'POST', tag: 'Bucket alias', summary: 'Remove a global or local alias' },
  AllowBucketKey: { method: 'POST', tag: 'Permission', summary: "Grant a key read/write/owner on a bucket" },
  DenyBucketKey: { method: 'POST', tag: 'Permission', summary: "Revoke a key's read/write/owner on a bucket" },
  PresignObjectUrl: { method: 'POST', tag: 'Bucket', summary: 'A presigned S3 URL for one object' },
  // Workers and blocks
  ListWorkers: { method: 'GET+POST', tag: 'Worker', summary: "Background workers (GET: this node, Grenier's shape; POST: Garage's multi-node form)", query: [NODE] },
  GetWorkerInfo: { method: 'POST', tag: 'Worker', summary: 'One worker by the id ListWorkers gives', query: [NODE] },
  GetWorkerVariable: { method: 'POST', tag: 'Worker', summary: 'Worker variables (resync-tranquility, resync-worker-count)', query: [NODE] },
  SetWorkerVariable: { method: 'POST', tag: 'Worker', summary: 'Set a worker variable (kept across restarts)', query: [NODE] },
  LaunchRepairOperation: { method: 'POST', tag: 'Worker', summary: 'Start a repair now: tables, blocks, scrub, rebalance, gc' },
  ListBlockErrors: { method: 'GET', tag: 'Block', summary: 'Blocks whose resync failed, with their back-off', query: [NODE] },
  GetBlockInfo: { method: 'POST', tag: 'Block', summary: 'Refcount, references and resync state of one block', query: [NODE] },
  RetryBlockResync: { method: 'POST', tag: 'Block', summary: 'Retry now the resync of some blocks, or of all in error', query: [NODE] },
  PurgeBlocks: { method: 'POST', tag: 'Block', summary: 'Delete every object and upload that uses these (lost) blocks', query: [NODE], body: 'array' },
  // Admin tokens and audit
  ListAdminTokens: { method: 'GET', tag: 'Admin API token', summary: 'Scoped admin tokens' },
  GetAdminTokenInfo: { method: 'GET', tag: 'Admin API token', summary: 'One admin token', query: ['id', 'search'] },
  GetCurrentAdminTokenInfo: { method: 'GET', tag: 'Admin API token', summary: 'The token of this request' },
  CreateAdminToken: { method: 'POST', tag: 'Admin API token', summary: 'Create a scoped admin token' },
  UpdateAdminToken: { method: 'POST', tag: 'Admin API token', summary: 'Change a token (name, scope, expiration)', query: ['id'] },
  DeleteAdminToken: { method: 'POST', tag: 'Admin API token', summary: 'Delete an admin token', query: ['id'] },
  ListAuditEvents: { method: 'GET', tag: 'Audit', summary: 'Admin actions recorded by the cluster', query: ['after', 'limit', 'node', 'op', 'who'] },
  // Front: routes and certificates
  ListRoutes: { method: 'GET', tag: 'Front', summary: 'Host routes of the HTTPS front' },
  AddRoute: { method: 'POST', tag: 'Front', summary: 'Route a host to a bucket website or an upstream' },
  DeleteRoute: { method: 'POST', tag: 'Front', summary: 'Remove a host route', query: ['host', 'path'] },
  ListCertificates: { method: 'GET', tag: 'Front', summary: 'Certificates of the front and their state' },
  GetCertificateStatus: { method: 'GET', tag: 'Front', summary: "One host's certificate", query: ['host'] },
  IssueCertificate: { method: 'POST', tag: 'Front', summary: 'Order (or renew) a certificate now' },
  ListUpstreamHealth: { method: 'GET', tag: 'Front', summary: "This node's view of the front's upstreams (up/down since, last error) and its renewal rule" },
  // Sites (owners sign with their key; admins use the bearer token)
  ListSites: { method: 'GET', tag: 'Site', summary: 'Static sites (owners: theirs); with limit (≤ 200), start (a nextStart) or search (domain substring): one page {sites, nextStart}', query: ['limit', 'start', 'search'] },
  CreateSite: { method: 'POST', tag: 'Site', summary: 'Create a site for an owner key (or, signed by a key with sitesMax, its own site under the root domain)' },
  CreateSiteRequest: { method: 'POST', tag: 'Site', summary: 'Ask an admin for a site at a custom domain (approved with ApproveQuotaRequest)' },
  GetSiteInfo: { method: 'GET', tag: 'Site', summary: 'One site', query: ['site'] },
  DeleteSite: { method: 'POST', tag: 'Site', summary: 'Delete a site', query: ['site'] },
  CheckSiteBlobs: { method: 'POST', tag: 'Site', summary: 'Which blobs of a deploy are missing', query: ['site'] },
  PutSiteBlob: { method: 'PUT', tag: 'Site', summary: 'Upload one blob of a deploy', query: ['site'], body: 'binary' },
  GetSiteDeploy: { method: 'GET', tag: 'Site', summary: "A site's current deploy (or the one named by id)", query: ['site', 'id'] },
  PublishSiteDeploy: { method: 'POST', tag: 'Site', summary: 'Publish a deploy manifest', query: ['site'] },
  RollbackSite: { method: 'POST', tag: 'Site', summary: 'Go back to an earlier deploy', query: ['site'] },
  // Quotas
  CreateQuotaRequest: { method: 'POST', tag: 'Quota', summary: 'Ask for more space for a site or bucket' },
  ListQuotaRequests: { method: 'GET', tag: 'Quota', summary: 'Pending and decided quota requests', query: ['state'] },
  ApproveQuotaRequest: { method: 'POST', tag: 'Quota', summary: 'Approve a quota request', query: ['id'] },
  DenyQuotaRequest: { method: 'POST', tag: 'Quota', summary: 'Deny a quota request', query: ['id'] },
  UpdateSiteQuota: { method: 'POST', tag: 'Quota', summary: "Set a site's quota" },
};

/** Paths outside /v2/<Operation> (Garage's special endpoints, and this document). */
export const SPECIAL_PATHS: Record<string, { summary: string; auth: boolean; query?: string[] }> = {
  '/health': { summary: 'Readiness: 200 when this node can serve, else 503', auth: false },
  '/health/live': { summary: 'Liveness: 200 while the process answers', auth: false },
  '/check': { summary: 'On-demand TLS hook: 200 when the domain is served here', auth: false, query: ['domain'] },
  '/metrics': { summary: 'Prometheus metrics (metrics_token, else admin_token)', auth: true },
  '/v2/openapi.json': { summary: 'This document', auth: false },
};

export function methodsOf(d: OpDoc): string[] {
  return d.method === 'GET+POST' ? ['GET', 'POST'] : [d.method];
}

const errorRef = { $ref: '#/components/schemas/Error' };

function operation(name: string, d: OpDoc, method: string): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: name,
    tags: [d.tag],
    summary: d.summary,
    parameters: (d.query ?? []).map((q) => ({
      name: q,
      in: 'query',
      required: false,
      schema: { type: 'string' },
      ...(q === NODE ? { description: 'Node id (or a unique prefix), `self` (the default) or `*` for every node; the answer is {success: {id: ...}, error: {id: message}}' } : {}),
    })),
    responses: {
      200: { description: 'Success', content: { 'application/json': { schema: {} } } },
      default: { description: 'Error', content: { 'application/json': { schema: errorRef } } },
    },
  };
  const body = d.body ?? 'object';
  if (method !== 'GET' && body !== 'none') {
    op.requestBody = {
      required: false,
      content:
        body === 'binary'
          ? { 'application/octet-stream': { schema: { type: 'string', contentEncoding: 'binary' } } }
          : { 'application/json': { schema: { type: body } } },
    };
  }
  return op;
}

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, d] of Object.entries(OPERATIONS)) {
    paths[`/v2/${name}`] = Object.fromEntries(methodsOf(d).map((m) => [m.toLowerCase(), operation(name, d, m)]));
  }
  for (const [path, s] of Object.entries(SPECIAL_PATHS)) {
    paths[path] = {
      get: {
        operationId: path === '/v2/openapi.json' ? 'GetOpenApi' : path === '/check' ? 'CheckDomain' : path === '/metrics' ? 'Metrics' : path === '/health' ? 'Health' : 'Liveness',
        summary: s.summary,
        ...(s.auth ? {} : { security: [] }),
        parameters: (s.query ?? []).map((q) => ({ name: q, in: 'query', required: true, schema: { type: 'string' } })),
        responses: { 200: { description: 'Success' }, default: { description: 'Error' } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Grenier admin API',
      version,
      description: "Garage's admin API v2 (same operation names and JSON shapes where the concept is the same), plus Grenier's sites, routes, certificates, quotas and audit.",
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
    },
    paths,
  };
}
