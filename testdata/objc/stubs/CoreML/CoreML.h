/* Core ML subset for the Linux syntax check of pipe's Objective-C shims.
   Declarations follow developer.apple.com/documentation/coreml (brief §5.1,
   §9); APIs newer than macOS 13 carry their availability. */
#pragma once
#import <Foundation/Foundation.h>

extern NSErrorDomain const MLModelErrorDomain;

typedef NS_ENUM(NSInteger, MLComputeUnits){
    MLComputeUnitsCPUOnly = 0, MLComputeUnitsCPUAndGPU = 1, MLComputeUnitsAll = 2,
    MLComputeUnitsCPUAndNeuralEngine API_AVAILABLE(macos(13.0)) = 3};

typedef NS_ENUM(NSInteger, MLMultiArrayDataType){
    MLMultiArrayDataTypeDouble = 0x10000 | 64, MLMultiArrayDataTypeFloat64 = 0x10000 | 64,
    MLMultiArrayDataTypeFloat32 = 0x10000 | 32, MLMultiArrayDataTypeFloat16 = 0x10000 | 16,
    MLMultiArrayDataTypeInt32 = 0x20000 | 32};

typedef NS_ENUM(NSInteger, MLFeatureType){
    MLFeatureTypeInvalid = 0, MLFeatureTypeInt64 = 1, MLFeatureTypeDouble = 2, MLFeatureTypeString = 3,
    MLFeatureTypeImage = 4, MLFeatureTypeMultiArray = 5, MLFeatureTypeDictionary = 6, MLFeatureTypeSequence = 7};

typedef NS_ENUM(NSInteger, MLMultiArrayShapeConstraintType){
    MLMultiArrayShapeConstraintTypeUnspecified = 1, MLMultiArrayShapeConstraintTypeEnumerated = 2,
    MLMultiArrayShapeConstraintTypeRange = 3};

typedef NS_ENUM(NSInteger, MLReshapeFrequencyHint){
    MLReshapeFrequencyHintFrequent = 0, MLReshapeFrequencyHintInfrequent = 1} API_AVAILABLE(macos(14.4));

typedef NSString *MLModelMetadataKey;
extern MLModelMetadataKey const MLModelDescriptionKey;
extern MLModelMetadataKey const MLModelVersionStringKey;
extern MLModelMetadataKey const MLModelAuthorKey;

API_AVAILABLE(macos(14.4))
@interface MLOptimizationHints : NSObject
@property MLReshapeFrequencyHint reshapeFrequency;
@end

@interface MLModelConfiguration : NSObject
@property MLComputeUnits computeUnits;
@property(copy) MLOptimizationHints *optimizationHints API_AVAILABLE(macos(14.4));
@end

@interface MLMultiArrayShapeConstraint : NSObject
@property(readonly) MLMultiArrayShapeConstraintType type;
@property(readonly) NSArray<NSValue *> *sizeRangeForDimension;
@property(readonly) NSArray<NSArray<NSNumber *> *> *enumeratedShapes;
@end

@interface MLMultiArrayConstraint : NSObject
@property(readonly) NSArray<NSNumber *> *shape;
@property(readonly) MLMultiArrayDataType dataType;
@property(readonly) MLMultiArrayShapeConstraint *shapeConstraint;
@end

@interface MLFeatureDescription : NSObject
@property(readonly, copy) NSString *name;
@property(readonly) MLFeatureType type;
@property(readonly) MLMultiArrayConstraint *multiArrayConstraint;
@end

@interface MLModelDescription : NSObject
@property(readonly) NSDictionary<NSString *, MLFeatureDescription *> *inputDescriptionsByName;
@property(readonly) NSDictionary<NSString *, MLFeatureDescription *> *outputDescriptionsByName;
@property(readonly) NSDictionary<MLModelMetadataKey, id> *metadata;
@end

@interface MLMultiArray : NSObject
@property(readonly) NSArray<NSNumber *> *shape;
@property(readonly) NSArray<NSNumber *> *strides;
@property(readonly) MLMultiArrayDataType dataType;
- (instancetype)initWithDataPointer:(void *)dataPointer
                              shape:(NSArray<NSNumber *> *)shape
                           dataType:(MLMultiArrayDataType)dataType
                            strides:(NSArray<NSNumber *> *)strides
                        deallocator:(void (^)(void *bytes))deallocator
                              error:(NSError **)error;
- (void)getBytesWithHandler:(void (^)(const void *bytes, NSInteger size))handler;
@end

@interface MLFeatureValue : NSObject
@property(readonly) MLMultiArray *multiArrayValue;
+ (instancetype)featureValueWithMultiArray:(MLMultiArray *)value;
@end

@protocol MLFeatureProvider
- (MLFeatureValue *)featureValueForName:(NSString *)featureName;
@end

@protocol MLBatchProvider
@property(readonly) NSInteger count;
- (id<MLFeatureProvider>)featuresAtIndex:(NSInteger)index;
@end

@interface MLDictionaryFeatureProvider : NSObject <MLFeatureProvider>
- (instancetype)initWithDictionary:(NSDictionary<NSString *, id> *)dictionary error:(NSError **)error;
@end

@interface MLArrayBatchProvider : NSObject <MLBatchProvider>
- (instancetype)initWithFeatureProviderArray:(NSArray<id<MLFeatureProvider>> *)array;
@end

@interface MLPredictionOptions : NSObject
@end

@interface MLModel : NSObject
@property(readonly) MLModelDescription *modelDescription;
+ (instancetype)modelWithContentsOfURL:(NSURL *)url configuration:(MLModelConfiguration *)configuration error:(NSError **)error;
+ (void)compileModelAtURL:(NSURL *)modelURL
        completionHandler:(void (^)(NSURL *compiledModelURL, NSError *error))handler API_AVAILABLE(macos(13.0));
- (id<MLFeatureProvider>)predictionFromFeatures:(id<MLFeatureProvider>)input options:(MLPredictionOptions *)options error:(NSError **)error;
- (id<MLBatchProvider>)predictionsFromBatch:(id<MLBatchProvider>)inputBatch options:(MLPredictionOptions *)options error:(NSError **)error;
@end

/* Compute devices (macOS 14.0). */
API_AVAILABLE(macos(14.0))
@protocol MLComputeDeviceProtocol
@end

API_AVAILABLE(macos(14.0))
@interface MLCPUComputeDevice : NSObject <MLComputeDeviceProtocol>
@end

API_AVAILABLE(macos(14.0))
@interface MLGPUComputeDevice : NSObject <MLComputeDeviceProtocol>
@end

API_AVAILABLE(macos(14.0))
@interface MLNeuralEngineComputeDevice : NSObject <MLComputeDeviceProtocol>
@property(readonly) NSInteger totalCoreCount;
@end

NSArray<id<MLComputeDeviceProtocol>> *MLAllComputeDevices(void) API_AVAILABLE(macos(14.0));

/* Model structure and compute plan (macOS 14.4). */
@class MLModelStructureProgramBlock;

API_AVAILABLE(macos(14.4))
@interface MLModelStructureProgramOperation : NSObject
@property(readonly, copy) NSString *operatorName;
@property(readonly, copy) NSArray<MLModelStructureProgramBlock *> *blocks;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructureProgramBlock : NSObject
@property(readonly, copy) NSArray<MLModelStructureProgramOperation *> *operations;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructureProgramFunction : NSObject
@property(readonly) MLModelStructureProgramBlock *block;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructureProgram : NSObject
@property(readonly, copy) NSDictionary<NSString *, MLModelStructureProgramFunction *> *functions;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructureNeuralNetworkLayer : NSObject
@property(readonly, copy) NSString *name;
@property(readonly, copy) NSString *type;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructureNeuralNetwork : NSObject
@property(readonly, copy) NSArray<MLModelStructureNeuralNetworkLayer *> *layers;
@end

API_AVAILABLE(macos(14.4))
@interface MLModelStructure : NSObject
@property(readonly) MLModelStructureNeuralNetwork *neuralNetwork;
@property(readonly) MLModelStructureProgram *program;
@end

API_AVAILABLE(macos(14.4))
@interface MLComputePlanDeviceUsage : NSObject
@property(readonly, copy) NSArray<id<MLComputeDeviceProtocol>> *supportedComputeDevices;
@property(readonly) id<MLComputeDeviceProtocol> preferredComputeDevice;
@end

API_AVAILABLE(macos(14.4))
@interface MLComputePlanCost : NSObject
@property(readonly) double weight;
@end

API_AVAILABLE(macos(14.4))
@interface MLComputePlan : NSObject
@property(readonly) MLModelStructure *modelStructure;
+ (void)loadContentsOfURL:(NSURL *)url
            configuration:(MLModelConfiguration *)configuration
        completionHandler:(void (^)(MLComputePlan *computePlan, NSError *error))handler;
- (MLComputePlanDeviceUsage *)computeDeviceUsageForMLProgramOperation:(MLModelStructureProgramOperation *)operation;
- (MLComputePlanDeviceUsage *)computeDeviceUsageForNeuralNetworkLayer:(MLModelStructureNeuralNetworkLayer *)layer;
- (MLComputePlanCost *)estimatedCostOfMLProgramOperation:(MLModelStructureProgramOperation *)operation;
@end
