// The models each simulated protocol lists (and accepts).
export const SIM_MODELS = {
  openai: ['gpt-4o-mini', 'gpt-4o', 'o3-mini', 'deepseek-chat', 'deepseek-reasoner', 'llama3.1', 'default'],
  // With the request parameters and inputs OpenRouter's list says each takes; the last two are not in the shipped catalog.
  openrouter: [
    {
      id: 'openai/gpt-4o-mini',
      name: 'OpenAI: GPT-4o mini',
      prompt: '0.00000015',
      completion: '0.0000006',
      context: 128000,
      parameters: ['tools', 'tool_choice', 'response_format', 'structured_outputs'],
      inputs: ['text', 'image', 'file'],
    },
    {
      id: 'anthropic/claude-3.5-sonnet',
      name: 'Anthropic: Claude 3.5 Sonnet',
      prompt: '0.000003',
      completion: '0.000015',
      context: 200000,
      parameters: ['tools', 'tool_choice'],
      inputs: ['text', 'image'],
    },
    {
      id: 'meta-llama/llama-3.1-8b-instruct',
      name: 'Meta: Llama 3.1 8B Instruct',
      prompt: '0.00000002',
      completion: '0.00000005',
      context: 131072,
      parameters: ['tools', 'response_format'],
      inputs: ['text'],
    },
    {
      id: 'mistralai/mistral-small-3.1-24b-instruct',
      name: 'Mistral: Mistral Small 3.1 24B',
      prompt: '0.00000005',
      completion: '0.0000001',
      context: 128000,
      parameters: ['tools', 'tool_choice', 'response_format', 'structured_outputs'],
      inputs: ['text'],
    },
    {
      id: 'gryphe/mythomax-l2-13b',
      name: 'MythoMax 13B',
      prompt: '0.00000005',
      completion: '0.00000009',
      context: 4096,
      parameters: ['temperature', 'top_p', 'stop'],
      inputs: ['text'],
    },
  ],
  anthropic: ['claude-3-5-haiku-latest', 'claude-3-5-sonnet-latest', 'claude-sonnet-4-0'],
  gemini: ['gemini-2.0-flash', 'gemini-1.5-pro', 'gemini-2.5-flash'],
};
