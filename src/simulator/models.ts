// The models each simulated protocol lists (and accepts).
export const SIM_MODELS = {
  openai: ['gpt-4o-mini', 'gpt-4o', 'o3-mini', 'deepseek-chat', 'deepseek-reasoner', 'llama3.1', 'default'],
  openrouter: [
    { id: 'openai/gpt-4o-mini', name: 'OpenAI: GPT-4o mini', prompt: '0.00000015', completion: '0.0000006', context: 128000 },
    { id: 'anthropic/claude-3.5-sonnet', name: 'Anthropic: Claude 3.5 Sonnet', prompt: '0.000003', completion: '0.000015', context: 200000 },
    { id: 'meta-llama/llama-3.1-8b-instruct', name: 'Meta: Llama 3.1 8B Instruct', prompt: '0.00000002', completion: '0.00000005', context: 131072 },
  ],
  anthropic: ['claude-3-5-haiku-latest', 'claude-3-5-sonnet-latest', 'claude-sonnet-4-0'],
  gemini: ['gemini-2.0-flash', 'gemini-1.5-pro', 'gemini-2.5-flash'],
};
