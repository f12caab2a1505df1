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
