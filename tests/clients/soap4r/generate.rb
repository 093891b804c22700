# Generate soap4r classes, mapping registry and driver from a WSDL with the generator API
# (the wsdl2ruby.rb command dies on Ruby 3.1: Logger::Application is gone).
#   ruby generate.rb WSDL_FILE OUT_DIR NAME     -> OUT_DIR/NAME.rb, NAMEMappingRegistry.rb, NAMEDriver.rb
require 'fileutils'
require 'logger'
require 'wsdl/soap/wsdl2ruby'

wsdl, dir, name = ARGV
FileUtils.mkdir_p(dir)
gen = WSDL::SOAP::WSDL2Ruby.new
gen.logger = Logger.new(STDERR)
gen.logger.level = Logger::WARN
gen.location = wsdl
gen.basedir = dir
gen.opt.update('classdef' => name, 'mapping_registry' => nil, 'driver' => nil,
               'module_path' => "Condor#{name}", 'force' => true)
gen.run
