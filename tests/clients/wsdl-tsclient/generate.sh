#!/bin/sh
# Generate typed clients with wsdl-tsclient and set up a TypeScript project around workflow.ts.
#   generate.sh NODE_DIR SCHEDD_WSDL_FILE COLLECTOR_WSDL_FILE     (in the work directory)
set -eu
node_dir=$1
here=$(dirname "$0")
ln -sfn "$node_dir/node_modules" node_modules
cp "$here/workflow.ts" workflow.ts
node_modules/.bin/wsdl-tsclient "$2" -o generated >gen.log
node_modules/.bin/wsdl-tsclient "$3" -o generated >>gen.log
# The WSDLs name the service and its port alike (condorSchedd), so the generated index.ts
# exports two things called CondorSchedd and services/CondorSchedd.ts declares an interface
# with the port's name: tsc stops with TS2300/TS2440. Rename the port import, drop the export.
for dir in generated/*/; do
    for service in "$dir"services/*.ts; do
        name=$(basename "$service" .ts)
        [ -f "$dir/ports/$name.ts" ] || continue
        sed -i "/export { $name } from \".\/services\/$name\";/d" "$dir/index.ts"
        sed -i "s|import { $name } from \"../ports/$name\";|import { $name as ${name}Port } from \"../ports/$name\";|; s|readonly $name: $name;|readonly $name: ${name}Port;|" "$service"
    done
done
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2020", "module": "commonjs", "strict": true, "skipLibCheck": true,
                       "types": ["node"], "rootDir": ".", "outDir": "dist" },
  "files": ["workflow.ts"] }
JSON
