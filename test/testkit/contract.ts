// Where our schema breaks the public contract: a field of another type, a
// missing argument, a type missing a promised field, enum values that differ.
import { type GraphQLSchema, isEnumType, isInputObjectType, isObjectType } from 'graphql';

const ROOT_TYPES = ['Query', 'Mutation', 'Subscription'];

export function contractMismatches(contract: GraphQLSchema, ours: GraphQLSchema): string[] {
  const mismatches: string[] = [];
  for (const type of Object.values(ours.getTypeMap())) {
    const promised = contract.getType(type.name);
    if (type.name.startsWith('__') || !promised) continue;
    if (isObjectType(type) && isObjectType(promised)) {
      for (const field of Object.values(type.getFields())) {
        const expected = promised.getFields()[field.name];
        if (!expected) continue;
        if (String(expected.type) !== String(field.type)) mismatches.push(`${type.name}.${field.name}: ${field.type} (contract: ${expected.type})`);
        for (const arg of expected.args) {
          const actual = field.args.find((candidate) => candidate.name === arg.name);
          if (String(actual?.type) !== String(arg.type)) mismatches.push(`${type.name}.${field.name}(${arg.name}:) missing or of another type`);
        }
      }
      // Root types grow issue by issue; every other type we expose carries all its promised fields.
      if (!ROOT_TYPES.includes(type.name)) {
        for (const name of Object.keys(promised.getFields())) if (!type.getFields()[name]) mismatches.push(`${type.name}.${name} missing`);
      }
    }
    if (isInputObjectType(type) && isInputObjectType(promised)) {
      for (const expected of Object.values(promised.getFields())) {
        const actual = type.getFields()[expected.name];
        if (String(actual?.type) !== String(expected.type)) mismatches.push(`input ${type.name}.${expected.name}: ${actual?.type ?? 'missing'} (contract: ${expected.type})`);
        else if (JSON.stringify(actual.defaultValue) !== JSON.stringify(expected.defaultValue)) mismatches.push(`input ${type.name}.${expected.name}: default differs`);
      }
    }
    if (isEnumType(type) && isEnumType(promised)) {
      const values = (t: typeof type) =>
        t
          .getValues()
          .map((value) => value.name)
          .sort()
          .join(',');
      if (values(type) !== values(promised)) mismatches.push(`enum ${type.name}: ${values(type)} (contract: ${values(promised)})`);
    }
  }
  return mismatches;
}
