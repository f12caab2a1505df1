// Typed documents shared by the provider tests (codegen reads them from here).
import { graphql } from '../generated/gql.js';

export const ProviderFields = `id kind label scope credentialType maskedKey baseUrl defaultModel priority dailyTokenLimit monthlyBudgetUsd tokensUsedToday spendThisMonthUsd lastValidatedAt createdAt updatedAt health { status errorRate requestsInWindow latencyP50Ms lastError lastCheckedAt }`;

export const AddProvider = graphql(`
  mutation AddProvider($input: AddProviderInput!) {
    addProvider(input: $input) {
      id kind label scope credentialType maskedKey baseUrl defaultModel priority dailyTokenLimit monthlyBudgetUsd tokensUsedToday spendThisMonthUsd lastValidatedAt createdAt updatedAt
      health { status errorRate requestsInWindow latencyP50Ms lastError lastCheckedAt }
    }
  }
`);

export const UpdateProvider = graphql(`
  mutation UpdateProvider($id: ID!, $input: UpdateProviderInput!) {
    updateProvider(id: $id, input: $input) {
      id label maskedKey priority dailyTokenLimit monthlyBudgetUsd defaultModel baseUrl lastValidatedAt
      health { status lastError }
    }
  }
`);

export const DeleteProvider = graphql(`
  mutation DeleteProvider($id: ID!) {
    deleteProvider(id: $id)
  }
`);

export const TestProvider = graphql(`
  mutation TestProvider($id: ID!) {
    testProvider(id: $id) { ok latencyMs errorCode message models }
  }
`);

export const Providers = graphql(`
  query Providers {
    providers { id kind label scope maskedKey health { status } }
  }
`);

export const ProviderById = graphql(`
  query ProviderById($id: ID!) {
    provider(id: $id) { id label maskedKey health { status lastError } }
  }
`);

export const AuditLog = graphql(`
  query AuditLog($first: Int, $after: String) {
    auditLog(first: $first, after: $after) {
      edges { cursor node { id at actorId action targetId data } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const Chat = graphql(`
  mutation Chat($input: ChatInput!) {
    chat(input: $input) {
      content providerId kind model finishReason usageEventId sessionId fellBack
      usage { promptTokens cachedPromptTokens completionTokens reasoningTokens totalTokens costUsd usageSource }
      toolCalls { id name arguments }
    }
  }
`);

export const ChatStream = graphql(`
  subscription ChatStream($input: ChatInput!) {
    chatStream(input: $input) {
      type index delta tokensSoFar providerId kind model finishReason errorCode message usageEventId sessionId
      usage { promptTokens cachedPromptTokens completionTokens reasoningTokens totalTokens costUsd usageSource }
      toolIndex toolCallId toolName argumentsDelta
    }
  }
`);

export const ResolveRoute = graphql(`
  query ResolveRoute($agent: String, $providerId: ID, $model: String, $needs: [RouteNeed!]) {
    resolveRoute(agent: $agent, providerId: $providerId, model: $model, needs: $needs) {
      candidates { providerId kind model reason usable skippedBecause }
    }
  }
`);

export const Embed = graphql(`
  mutation Embed($input: EmbedInput!) {
    embed(input: $input) {
      vectors providerId kind model usageEventId
      usage { promptTokens cachedPromptTokens completionTokens reasoningTokens totalTokens costUsd usageSource }
    }
  }
`);

export const UpdatePreferences = graphql(`
  mutation UpdatePreferences($input: PreferencesInput!) {
    updatePreferences(input: $input) {
      defaultProviderId defaultModel fallbackProviderId fallbackModel autoFailover maxTokensPerRequest timezone
      quotaWarningThreshold workspaceDailyTokenLimit workspaceMonthlyBudgetUsd storeConversationHistory
      agentPreferences { agentType providerId model fallbackProviderId fallbackModel estimatedUsdPerMTok }
    }
  }
`);

export const PreferencesQuery = graphql(`
  query Preferences {
    preferences { defaultProviderId autoFailover timezone agentPreferences { agentType providerId model } }
  }
`);

export const SetAgentModelPreference = graphql(`
  mutation SetAgentModelPreference($input: AgentModelPreferenceInput!) {
    setAgentModelPreference(input: $input) { agentType providerId model fallbackProviderId fallbackModel }
  }
`);

export const RemoveAgentModelPreference = graphql(`
  mutation RemoveAgentModelPreference($agentType: String!) {
    removeAgentModelPreference(agentType: $agentType)
  }
`);

export const Sessions = graphql(`
  query Sessions($first: Int, $after: String) {
    sessions(first: $first, after: $after) {
      edges { cursor node { id title providerId kind model agent messageCount totalTokens costUsd createdAt lastActiveAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const SessionById = graphql(`
  query SessionById($id: ID!) {
    session(id: $id) { id messageCount totalTokens providerId model }
  }
`);

export const ProviderUsage = graphql(`
  query ProviderUsage($id: ID!) {
    provider(id: $id) { tokensUsedToday spendThisMonthUsd }
  }
`);

export const UsageReport = graphql(`
  query UsageReport($range: DateRangeInput!, $groupBy: [UsageDimension!], $bucket: TimeBucket, $filter: UsageFilter, $top: Int) {
    usage(range: $range, groupBy: $groupBy, bucket: $bucket, filter: $filter) {
      range { from to }
      totals { requests failedRequests promptTokens completionTokens totalTokens costUsd avgDurationMs }
      groups { key label totals { requests totalTokens costUsd } }
      series { bucketStart key totals { requests failedRequests promptTokens completionTokens totalTokens costUsd } }
      topModels(limit: $top) { key label totals { totalTokens } }
    }
  }
`);

export const UsageEvents = graphql(`
  query UsageEvents($range: DateRangeInput!, $filter: UsageFilter, $first: Int, $after: String) {
    usageEvents(range: $range, filter: $filter, first: $first, after: $after) {
      edges { cursor node { id createdAt providerId kind model agent operation userId status streamed promptTokens cachedPromptTokens completionTokens reasoningTokens totalTokens usageSource costUsd priceVersion priceFallback durationMs ttftMs errorCode fallbackFrom } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const Models = graphql(`
  query Models($kind: ProviderKind, $search: String, $tier: ModelTier, $first: Int, $after: String) {
    models(kind: $kind, search: $search, tier: $tier, first: $first, after: $after) {
      totalCount
      edges { cursor node { id kind model displayName contextWindow inputUsdPerMTok cachedInputUsdPerMTok outputUsdPerMTok tier capabilities priceVersion } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const UsageTicks = graphql(`
  subscription UsageTicks {
    usageTicks { providerId tokensUsedToday dailyTokenLimit spendThisMonthUsd monthlyBudgetUsd }
  }
`);

export const SetTimezone = graphql(`
  mutation SetTimezone($timezone: String!) {
    updatePreferences(input: { timezone: $timezone }) { timezone }
  }
`);

export const AlertsFeed = graphql(`
  subscription AlertsFeed {
    alerts { id kind severity providerId message data createdAt acknowledgedAt }
  }
`);

export const AlertList = graphql(`
  query AlertList($unacknowledgedOnly: Boolean, $first: Int, $after: String) {
    alerts(unacknowledgedOnly: $unacknowledgedOnly, first: $first, after: $after) {
      edges { node { id kind severity providerId message data createdAt acknowledgedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const AcknowledgeAlert = graphql(`
  mutation AcknowledgeAlert($id: ID!) {
    acknowledgeAlert(id: $id) { id acknowledgedAt }
  }
`);

export const ProviderHealth = graphql(`
  query ProviderHealth($id: ID!) {
    provider(id: $id) { id health { status errorRate requestsInWindow latencyP50Ms lastError lastCheckedAt } }
  }
`);

export const CreateApiKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey { id name prefix principal createdBy agent allowedModels dailyTokenLimit monthlyBudgetUsd tokensUsedToday spendThisMonthUsd createdAt lastUsedAt expiresAt revokedAt }
    }
  }
`);

export const RevokeApiKey = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { id revokedAt }
  }
`);

export const WhoAmI = graphql(`
  query WhoAmI {
    viewer { userId workspaceId role }
  }
`);

export const AddAlertChannel = graphql(`
  mutation AddAlertChannel($input: AddAlertChannelInput!) {
    addAlertChannel(input: $input) { channel { id type name urlHost kinds state lastDeliveredAt lastError createdAt } signingSecret }
  }
`);

export const AlertChannels = graphql(`
  query AlertChannels {
    alertChannels { id type name urlHost kinds state lastDeliveredAt lastError deadDeliveries createdAt }
  }
`);

export const RemoveAlertChannel = graphql(`
  mutation RemoveAlertChannel($id: ID!) {
    removeAlertChannel(id: $id)
  }
`);

export const TestAlertChannel = graphql(`
  mutation TestAlertChannel($id: ID!) {
    testAlertChannel(id: $id) { ok status latencyMs message }
  }
`);

export const ValidateKey = graphql(`
  mutation ValidateKey($input: ValidateKeyInput!) {
    validateKey(input: $input) { ok latencyMs errorCode message models }
  }
`);

export const ProviderKinds = graphql(`
  query ProviderKinds {
    providerKinds { kind displayName protocol defaultBaseUrl keyPrefix requiresKey capabilities }
    kindEnum: __type(name: "ProviderKind") { enumValues { name } }
  }
`);
